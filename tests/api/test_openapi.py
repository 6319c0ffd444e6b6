"""Probe 17: the OpenAPI document tells the truth about errors, statuses, tokens and times."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.openapi import PUBLIC, RAISED
from pipeline.config import Settings
from tests.conftest import sign_in


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'api.db'}",
                        runs_dir=tmp_path / "runs")
    with TestClient(create_app(settings)) as test_client:
        sign_in(test_client, settings.database_url, "admin")
        yield test_client


def _document(client: TestClient) -> dict[str, Any]:
    return client.get("/api/v1/openapi.json").json()  # type: ignore[no-any-return]


def test_every_error_answer_is_declared_with_the_real_error_body(client: TestClient) -> None:
    document = _document(client)
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert schemas["ErrorPublic"]["required"] == ["error"]
    refused = client.get("/api/v1/petitions", params={"limit": "nhiều"})
    assert refused.status_code == 422
    assert set(refused.json()) <= set(schemas["ErrorPublic"]["properties"])
    assert refused.json()["detail"] == [{"field": "limit", "problem": "phải là số nguyên"}]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            errors = {int(code) for code in operation["responses"] if int(code) >= 400}
            assert {400, 413, 422, 500, 503} <= errors, (method, path)
            if (method, path) not in PUBLIC:
                assert {401, 403, 429} <= errors, (method, path)
            if "{" in path:
                assert 404 in errors, (method, path)
            for code in errors:
                body = operation["responses"][str(code)]["content"]["application/json"]
                assert body["schema"] == {"$ref": "#/components/schemas/ErrorPublic"}


def test_statuses_raised_in_handlers_name_real_operations(client: TestClient) -> None:
    paths = _document(client)["paths"]
    for method, path in (*RAISED, *PUBLIC):
        assert method in paths.get(path, {}), (method, path)


def test_the_bearer_scheme_is_declared_where_a_token_is_needed(client: TestClient) -> None:
    document = _document(client)
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": document["components"][
            "securitySchemes"]["bearerAuth"]["description"]}
    anonymous = TestClient(client.app)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if (method, path) in PUBLIC:
                assert "security" not in operation
                continue
            assert operation["security"] == [{"bearerAuth": []}]
            answer = anonymous.request(method, re.sub(r"\{[^}]+\}", "1", path), json={})
            assert answer.status_code == 401, (method, path)


def test_timestamps_carry_their_time_zone(client: TestClient) -> None:
    client.post("/api/v1/admin/users", json={"name": "can-bo-moi", "role": "officer"})
    users = client.get("/api/v1/admin/users").json()
    entries = client.get("/api/v1/audit").json()
    stamps = [u["created_at"] for u in users] + [e["at"] for e in entries]
    assert stamps and all(s.endswith("Z") for s in stamps), stamps


def test_a_day_must_be_written_as_a_day(client: TestClient) -> None:
    refused = client.get("/api/v1/hotspots", params={"as_of": "0"})
    assert refused.status_code == 422
    assert refused.json()["detail"] == [
        {"field": "as_of", "problem": "phải là ngày dạng YYYY-MM-DD"}]
    assert client.get("/api/v1/hotspots", params={"as_of": "2025-06-14"}).status_code == 200


def test_options_on_a_path_with_two_methods_lists_both(client: TestClient) -> None:
    answer = client.options("/api/v1/alert-rules")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, POST"


def test_a_month_with_nothing_to_report_is_not_found(client: TestClient) -> None:
    for month in ("2025-06", "2999-01"):
        answer = client.get("/api/v1/reports/monthly", params={"month": month})
        assert answer.status_code == 404, (month, answer.text)
    nowhere = client.get("/api/v1/reports/monthly", params={"month": "2025-06", "area": "thôn Xa"})
    assert nowhere.status_code == 404
    assert client.get("/api/v1/reports/monthly", params={"month": "2025-13"}).status_code == 422


def test_closed_lists_are_checked_on_every_route_that_takes_them(client: TestClient) -> None:
    for path in ("/api/v1/petitions", "/api/v1/trends"):
        for name in ("topic", "source_type", "signal"):
            answer = client.get(path, params={name: "khong-co"})
            assert answer.status_code == 422, (path, name)
            assert answer.json()["detail"][0]["field"] == name
