"""Who may see what: 401/403, area scopes, redaction on every GET, audit, sessions, hardening."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli_app
from pipeline.config import Settings, get_settings
from tests.conftest import sign_in

# Personal data seeded into the fixtures; none of it may reach a viewer or an analyst.
PII = {
    "name_in_text": "Trần Văn Khải",
    "phone_in_text": "0912 345 678",
    "cccd": "045123456789",
    "email": "khai.tran@example.vn",
    "house": "số nhà 27 kiệt 5 Lê Duẩn",
    "plate": "74A-123.45",
    "sender": "Nguyễn Thị Mận",
    "sender_phone": "0987.654.321",
    "denouncer": "Phạm Quốc Bảo",
}
PETITIONS = [
    {"text": f"Tôi là ông {PII['name_in_text']}, CCCD {PII['cccd']}, điện thoại "
             f"{PII['phone_in_text']}, email {PII['email']}, ở {PII['house']}. Xe tải biển "
             f"{PII['plate']} đổ đất lấn chiếm ruộng nhà tôi ở thôn Tân Mỹ.",
     "received_at": "2025-06-02", "area": "thôn Tân Mỹ, xã Vĩnh Giang",
     "sender_name": PII["sender"], "sender_contact": PII["sender_phone"],
     "source_type": "complaint"},
    {"text": "Tố cáo cán bộ địa chính xã nhận tiền để cấp sổ đỏ sai quy định cho người nhà.",
     "received_at": "2025-06-03", "area": "thôn Hà Lợi Trung, xã Vĩnh Giang",
     "sender_name": PII["denouncer"], "source_type": "denunciation"},
    {"text": "Đường vào xóm Bến bị sạt lở sau mưa lớn, xe máy không qua được.",
     "received_at": "2025-06-04", "area": "phường Đông Hà, tỉnh Quảng Trị"},
]


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    return settings


@pytest.fixture
def clients(app_settings: Settings) -> Iterator[dict[str, TestClient]]:
    app = create_app(app_settings)
    made: dict[str, TestClient] = {}
    with TestClient(app) as admin:
        sign_in(admin, app_settings.database_url, "admin")
        assert admin.post("/api/v1/petitions", json=PETITIONS).status_code == 201
        made["admin"] = admin
        for role in ("viewer", "analyst", "officer"):
            client = TestClient(app)
            sign_in(client, app_settings.database_url, role)
            made[role] = client
        scoped = TestClient(app)
        sign_in(scoped, app_settings.database_url, "officer", areas=["xã Vĩnh Giang"],
                name="can-bo-vinh-giang")
        made["scoped"] = scoped
        made["anonymous"] = TestClient(app)
        yield made


def _operations(client: TestClient) -> list[tuple[str, str]]:
    schema = client.app.openapi()  # type: ignore[attr-defined]
    return [(method.upper(), path) for path, item in schema["paths"].items() for method in item]


def _get_paths(client: TestClient) -> list[str]:
    ids = [p["id"] for p in client.get("/api/v1/petitions").json()["data"]]
    paths = []
    for method, path in _operations(client):
        if method == "GET":
            for petition_id in ids:
                paths.append(path.replace("{petition_id}", str(petition_id)))
    return sorted({p for p in paths if "{" not in p})


def test_everything_but_healthz_needs_a_token(clients: dict[str, TestClient]) -> None:
    anonymous = clients["anonymous"]
    assert anonymous.get("/api/v1/healthz").status_code == 200
    operations = _operations(anonymous)
    assert len(operations) >= 20
    for method, template in operations:
        if template in ("/api/v1/healthz", "/api/v1/auth/session"):
            continue
        path = re.sub(r"\{[^}]+\}", "1", template)
        response = anonymous.request(method, path, json={})
        assert response.status_code == 401, (method, path, response.status_code)
        assert "đăng nhập" in response.json()["error"]
    bad = anonymous.get("/api/v1/trends", headers={"Authorization": "Bearer sai-ma"})
    assert bad.status_code == 401


@pytest.mark.parametrize(("role", "method", "path", "body"), [
    ("viewer", "GET", "/api/v1/petitions", None),
    ("viewer", "POST", "/api/v1/classify", {"text": "đường hỏng"}),
    ("analyst", "POST", "/api/v1/petitions", {"text": "đường hỏng"}),
    ("analyst", "POST", "/api/v1/alerts/1/ack", {}),
    ("officer", "GET", "/api/v1/alert-rules", None),
    ("officer", "GET", "/api/v1/audit", None),
    ("viewer", "GET", "/api/v1/audit", None),
])
def test_roles_are_refused_what_they_may_not_do(
    clients: dict[str, TestClient], role: str, method: str, path: str, body: object
) -> None:
    response = clients[role].request(method, path, json=body)
    assert response.status_code == 403
    assert "Vai trò" in response.json()["error"]


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_no_seeded_personal_data_reaches_viewer_or_analyst(
    clients: dict[str, TestClient], role: str
) -> None:
    client = clients[role]
    paths = _get_paths(clients["admin"])
    assert "/api/v1/petitions" in paths and "/api/v1/hotspots" in paths
    checked = 0
    for path in paths:
        for params in ({}, {"format": "csv"}, {"as_of": "2025-06-05"}):
            response = client.get(path, params=params)
            body = response.text
            for label, value in PII.items():
                assert value not in body, (role, path, params, label)
            checked += response.status_code == 200
    assert checked >= 8
    if role == "analyst":
        rows = client.get("/api/v1/petitions").json()["data"]
        complaint = next(r for r in rows if r["source_type"] == "complaint")
        assert "[SĐT]" in complaint["text"] and "[CCCD]" in complaint["text"]
        assert complaint["sender_name"] == "[ẨN]"


def test_officer_sees_clear_text_and_every_read_is_audited(
    clients: dict[str, TestClient]
) -> None:
    officer = clients["officer"]
    rows = officer.get("/api/v1/petitions").json()["data"]
    complaint = next(r for r in rows if r["source_type"] == "complaint")
    assert complaint["sender_name"] == PII["sender"] and PII["cccd"] in complaint["text"]
    assert officer.get(f"/api/v1/petitions/{complaint['id']}").status_code == 200
    export = officer.get("/api/v1/petitions", params={"format": "csv"})
    assert PII["sender"] in export.text
    entries = clients["admin"].get("/api/v1/audit", params={"user": "officer-0"}).json()
    reads = [(e["method"], e["endpoint"], e["record_ids"]) for e in entries]
    assert ("GET", f"/api/v1/petitions/{complaint['id']}", [complaint["id"]]) in reads
    assert ("GET", "/api/v1/petitions", sorted(r["id"] for r in rows)[::-1]) in [
        (m, p, sorted(i)[::-1]) for m, p, i in reads]
    assert any(m == "EXPORT" and len(i) == len(rows) for m, _, i in reads)
    assert all("Bearer" not in str(e) and "tt_" not in str(e) for e in entries)


def test_area_scope_limits_a_commune_officer(clients: dict[str, TestClient]) -> None:
    scoped = clients["scoped"]
    areas = {r["area"] for r in scoped.get("/api/v1/petitions").json()["data"]}
    assert areas and all("Vĩnh Giang" in a for a in areas)
    assert scoped.get("/api/v1/petitions", params={"area": "phường Đông Hà"}).status_code == 403
    outside = next(r for r in clients["admin"].get("/api/v1/petitions").json()["data"]
                   if "Đông Hà" in r["area"])
    assert scoped.get(f"/api/v1/petitions/{outside['id']}").status_code == 403
    trends = scoped.get("/api/v1/trends", params={"level": "village"}).json()["data"]
    assert trends and all("Đông Hà" not in r["area"] for r in trends)


def test_browser_session_needs_the_csrf_token(clients: dict[str, TestClient],
                                              app_settings: Settings) -> None:
    from api.security import create_token

    browser = TestClient(clients["admin"].app)
    from pipeline.store import create_db_engine

    token = create_token(create_db_engine(app_settings.database_url), "officer-0")
    wrong = browser.post("/api/v1/auth/session", json={"token": "tt_sai"})
    assert wrong.status_code == 401
    signed = browser.post("/api/v1/auth/session", json={"token": token})
    assert signed.status_code == 200
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    csrf = signed.json()["csrf_token"]
    assert browser.get("/api/v1/auth/me").json()["role"] == "officer"
    body = {"text": "Cống thoát nước thôn 3 bị tắc", "received_at": "2025-06-05"}
    refused = browser.post("/api/v1/petitions", json=body)
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["error"]
    accepted = browser.post("/api/v1/petitions", json=body, headers={"X-CSRF-Token": csrf})
    assert accepted.status_code == 201
    assert browser.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert browser.get("/api/v1/auth/me").status_code == 401


def test_headers_size_limit_and_rate_limit(settings: Settings) -> None:
    tight = settings.model_copy(update={"rate_limit_per_minute": 3, "max_body_bytes": 1000})
    with TestClient(create_app(tight)) as client:
        sign_in(client, tight.database_url, "admin")
        first = client.get("/api/v1/trends")
        assert first.headers["x-content-type-options"] == "nosniff"
        assert first.headers["x-frame-options"] == "DENY"
        assert "default-src 'self'" in first.headers["content-security-policy"]
        assert "access-control-allow-origin" not in first.headers
        big = client.post("/api/v1/classify", content=b"x" * 5000,
                          headers={"Content-Type": "application/json"})
        assert big.status_code == 413 and "quá lớn" in big.json()["error"]
        codes = [client.get("/api/v1/trends").status_code for _ in range(3)]
        assert codes[-1] == 429


def test_cli_users_and_tokens(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAMTU_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        added = runner.invoke(cli_app, ["users", "add", "lan", "--role", "officer", "--areas",
                                        "xã Vĩnh Giang"])
        assert added.exit_code == 0, added.output
        bad = runner.invoke(cli_app, ["users", "add", "hoa", "--role", "sep"])
        assert bad.exit_code == 2 and "viewer" in bad.output
        created = runner.invoke(cli_app, ["tokens", "create", "--user", "lan"])
        token = created.output.strip().splitlines()[-1]
        assert created.exit_code == 0 and token.startswith("tt_") and " " not in token
        wider = runner.invoke(cli_app, ["tokens", "create", "--user", "lan", "--areas",
                                        "tỉnh Quảng Trị"])
        assert wider.exit_code == 2 and "hẹp hơn" in wider.output
        narrower = runner.invoke(cli_app, ["tokens", "create", "--user", "lan", "--areas",
                                           "thôn Tân Mỹ, xã Vĩnh Giang"])
        assert narrower.exit_code == 0, narrower.output
        with TestClient(create_app(settings)) as client:
            client.headers["Authorization"] = f"Bearer {narrower.output.splitlines()[-1]}"
            assert client.get("/api/v1/auth/me").json()["areas"] == ["thôn Tân Mỹ, xã Vĩnh Giang"]
            client.headers["Authorization"] = f"Bearer {token}"
            assert client.get("/api/v1/auth/me").json()["areas"] == ["xã Vĩnh Giang"]
            listed = runner.invoke(cli_app, ["tokens", "list", "--user", "lan"])
            line = next(x for x in listed.output.splitlines() if token[:10] in x)
            token_id = re.search(r"│ (\d+)\s+│ lan", line).group(1)  # type: ignore[union-attr]
            assert runner.invoke(cli_app, ["tokens", "revoke", token_id]).exit_code == 0
            assert client.get("/api/v1/auth/me").status_code == 401
        ghost = runner.invoke(cli_app, ["alerts", "ack", "1", "--user", "khong-co-ai"])
        assert ghost.exit_code == 2 and "khong-co-ai" in ghost.output
        logged = runner.invoke(cli_app, ["audit", "--json"])
        assert logged.exit_code == 0 and token not in logged.output
        assert "users add lan --role officer" in logged.output
        assert "tokens revoke" in logged.output
    finally:
        get_settings.cache_clear()
