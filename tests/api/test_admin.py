"""Administration through the API on both databases: users, roles, areas, tokens, places."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from pipeline.config import Settings
from tests.conftest import sign_in


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        sign_in(test_client, settings.database_url, name="quantri")
        yield test_client


def test_users_tokens_shown_once_and_revoked(client: TestClient) -> None:
    created = client.post("/api/v1/admin/users", json={
        "name": "canbo.vg", "role": "officer", "areas": ["xã Vĩnh Giang"]})
    assert created.status_code == 201, created.text
    assert created.json()["role_name"] == "cán bộ phụ trách"
    assert client.post("/api/v1/admin/users", json={"name": "canbo.vg", "role": "viewer"}
                       ).status_code == 409
    token = client.post("/api/v1/admin/users/canbo.vg/tokens", json={}).json()
    assert token["token"].startswith(token["prefix"]) and len(token["token"]) > 30
    listed = client.get("/api/v1/admin/tokens").json()
    assert all("token" not in t for t in listed)
    assert any(t["id"] == token["id"] and t["user"] == "canbo.vg" for t in listed)
    # The new token works at once, within its user's commune.
    other = TestClient(client.app)
    other.headers["Authorization"] = f"Bearer {token['token']}"
    me = other.get("/api/v1/auth/me").json()
    assert me["role"] == "officer" and me["areas"] == ["xã Vĩnh Giang"]
    changed = client.put("/api/v1/admin/users/canbo.vg",
                         json={"role": "viewer", "areas": ["thôn Tân Mỹ, xã Vĩnh Giang"]})
    assert changed.json()["areas"] == ["thôn Tân Mỹ, xã Vĩnh Giang"]
    assert other.get("/api/v1/auth/me").json()["role"] == "viewer"
    narrow = client.post("/api/v1/admin/users/canbo.vg/tokens", json={"areas": ["xã Gio Mỹ"]})
    assert narrow.status_code == 422 and "hẹp hơn" in narrow.json()["error"]
    assert client.delete(f"/api/v1/admin/tokens/{token['id']}").status_code == 204
    assert other.get("/api/v1/auth/me").status_code == 401
    assert client.delete(f"/api/v1/admin/tokens/{token['id']}").status_code == 404
    locked = client.put("/api/v1/admin/users/canbo.vg", json={"disabled": True}).json()
    assert locked["disabled"] is True and locked["tokens"] == 0
    users = {u["name"]: u for u in client.get("/api/v1/admin/users").json()}
    assert users["quantri"]["tokens"] == 1


def test_admin_cannot_lock_themselves_and_others_cannot_administer(
    client: TestClient, settings: Settings
) -> None:
    mine = client.put("/api/v1/admin/users/quantri", json={"disabled": True})
    assert mine.status_code == 409 and "chính mình" in mine.json()["error"]
    assert client.put("/api/v1/admin/users/khongco", json={}).status_code == 404
    assert client.post("/api/v1/admin/users", json={"name": "x", "role": "boss"}
                       ).status_code == 422
    places = client.get("/api/v1/admin/places").json()
    assert "xã Vĩnh Giang" in places["communes"]
    assert "thôn Tân Mỹ, xã Vĩnh Giang" in places["villages"]
    sign_in(client, settings.database_url, "officer", name="canbo")
    assert client.get("/api/v1/admin/users").status_code == 403
