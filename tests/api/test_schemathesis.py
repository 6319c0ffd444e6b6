"""Property-based run of the whole OpenAPI schema (bounded examples) with every check.

Every built-in schemathesis check runs on every generated request: no 5xx, status codes,
content types, headers and bodies as documented, invalid data refused, valid data accepted,
authentication not ignored. Two exceptions: response time is not checked (tests never assert on
timings), and "valid data accepted" is left out for the operations in SEMANTIC below, each with
the rule no JSON schema can state.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks

from api.app import create_app
from api.security import create_token, create_user, principal_for_token
from pipeline.config import Settings
from pipeline.records import Record
from pipeline.run import IngestRun
from pipeline.store import PetitionStore, create_db_engine, migrate

_DIR = Path(tempfile.mkdtemp(prefix="tamtu-schemathesis-"))
# The rate limit has its own tests; here every generated request must reach its endpoint.
_SETTINGS = Settings(database_url=f"sqlite:///{_DIR / 'api.db'}", runs_dir=_DIR / "runs",
                     rate_limit_per_minute=1_000_000)
_ENGINE = create_db_engine(_SETTINGS.database_url)
migrate(_ENGINE)
create_user(_ENGINE, "kiem-thu", "admin")
_TOKENS = [create_token(_ENGINE, "kiem-thu")]
IngestRun(PetitionStore(_ENGINE), runs_dir=_SETTINGS.runs_dir).ingest_items([
    Record(text="Đường liên thôn Tân Mỹ bị sạt lở, xe không đi được", source_file="seed",
           source_row=1, area="thôn Tân Mỹ, xã Vĩnh Giang"),
    Record(text="Nhóm người lạ đến thôn Phúc Lâm truyền đạo, phát tiền cho bà con",
           source_file="seed", source_row=2, area="thôn Phúc Lâm, xã Vĩnh Giang"),
])
APP = create_app(_SETTINGS)
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP)
_STATUSES: list[tuple[str, int, bool]] = []
load_all_checks()
ALL_CHECKS = CHECKS.get_all()
POSITIVE_DATA_ACCEPTANCE = CHECKS.get_one("positive_data_acceptance")
# Operations whose valid requests a JSON schema cannot describe, so a schema-valid request may
# rightly be refused (422). Every other check runs on them; every check runs on the rest.
SEMANTIC: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/admin/users"): "areas must name a place the resolver knows",
    ("PUT", "/api/v1/admin/users/{name}"): "areas must name a place the resolver knows",
    ("POST", "/api/v1/admin/users/{name}/tokens"): "areas must lie inside the user's areas",
    ("POST", "/api/v1/alert-rules"): "quiet hours cannot start when they end",
    ("PUT", "/api/v1/alert-rules/{rule_id}"): "quiet hours cannot start when they end",
    ("GET", "/api/v1/petitions"): "'from' must not come after 'to'",
    ("GET", "/api/v1/trends"): "'from' must not come after 'to'",
    ("POST", "/api/v1/classify"): "a text of control characters only is empty once normalised",
    ("POST", "/api/v1/petitions/{petition_id}/review"): "an area must name a place the resolver "
    "knows, inside the caller's areas",
    ("POST", "/api/v1/cases/update"): "exactly one of ids and filters, and at least one change",
    ("POST", "/api/v1/alerts/{alert_id}/note"): "a note of blanks only is empty",
}


@schema.auth(refresh_interval=None)
class AdminToken:
    """The admin's token on every generated request, except those made to test its absence.

    A generated DELETE /admin/tokens/{id} may revoke it: a new one is issued then.
    """

    def get(self, case: schemathesis.Case, context: object) -> str:
        if principal_for_token(_ENGINE, _TOKENS[-1]) is None:
            _TOKENS.append(create_token(_ENGINE, "kiem-thu"))
        return _TOKENS[-1]

    def set(self, case: schemathesis.Case, data: str, context: object) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_check_passes(case: schemathesis.Case) -> None:
    # Ours: the request carries the token and the token was still valid when it was sent.
    ours = ((case.headers or {}).get("Authorization") == f"Bearer {_TOKENS[-1]}"
            and principal_for_token(_ENGINE, _TOKENS[-1]) is not None)
    # A loaded machine can take seconds for the first classification.
    response = case.call(timeout=120)
    _STATUSES.append((case.path, response.status_code, ours))
    excluded = [POSITIVE_DATA_ACCEPTANCE] if (case.method, case.path) in SEMANTIC else []
    case.validate_response(response, checks=ALL_CHECKS, excluded_checks=excluded,
                           transport_kwargs={"timeout": 120})


def test_the_run_was_authenticated() -> None:
    # Runs after the generated cases: they must have got past authentication, not only 401s.
    assert _STATUSES, "no generated request ran"
    assert sum(200 <= s < 300 for _, s, _ in _STATUSES) >= 20
    # Cases without the token (made to test its absence) answer 401; with it, only sign-in may
    # (its own token, in the body, is generated).
    assert {p for p, s, ours in _STATUSES if s == 401 and ours} <= {"/api/v1/auth/session"}
    assert any(s == 401 and not ours for _, s, ours in _STATUSES)
