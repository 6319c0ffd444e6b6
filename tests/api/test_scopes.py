"""Area scopes by place identity: what a scoped officer may read and where they may write."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.security import SecurityError, create_token, create_user
from pipeline.config import Settings
from pipeline.store import PetitionStore
from tests.conftest import sign_in

THUY_BA = [
    {"text": f"Đường bê tông thôn Thủy Ba bị nứt vỡ đoạn {n}, xe đi lại khó khăn.",
     "received_at": "2025-06-02", "area": "thôn Thủy Ba, xã Vĩnh Giang"}
    for n in range(3)
]
THUY_BA_DONG = [
    {"text": f"Ông Lê Văn Đạt ở thôn Thủy Ba Đông phản ánh cống số {n} bị tắc gây ngập.",
     "received_at": "2025-06-03", "area": "thôn Thủy Ba Đông, xã Vĩnh Giang",
     "sender_name": "Lê Văn Đạt", "sender_contact": "0905 111 222"}
    for n in range(4)
]


@pytest.fixture
def clients(settings: Settings) -> Iterator[dict[str, TestClient]]:
    app = create_app(settings)
    with TestClient(app) as admin:
        sign_in(admin, settings.database_url, "admin")
        assert admin.post("/api/v1/petitions", json=THUY_BA + THUY_BA_DONG).status_code == 201
        thuy_ba = TestClient(app)
        sign_in(thuy_ba, settings.database_url, "officer", areas=["thôn Thủy Ba"],
                name="can-bo-thuy-ba")
        tan_my = TestClient(app)
        sign_in(tan_my, settings.database_url, "officer", areas=["thôn Tân Mỹ"],
                name="can-bo-tan-my")
        yield {"admin": admin, "thuy_ba": thuy_ba, "tan_my": tan_my}


def _count(client: TestClient) -> int:
    return int(client.get("/api/v1/petitions").json()["count"])


def test_a_village_scope_does_not_open_a_village_whose_name_starts_the_same(
    clients: dict[str, TestClient]
) -> None:
    officer = clients["thuy_ba"]
    listed = officer.get("/api/v1/petitions").json()
    assert listed["count"] == len(THUY_BA)
    assert {r["village"] for r in listed["data"]} == {"thôn Thủy Ba"}
    searched = officer.get("/api/v1/petitions", params={"q": "cống"}).json()
    assert searched["count"] == 0
    export = officer.get("/api/v1/petitions", params={"format": "csv"}).text
    assert "Thủy Ba Đông" not in export and "Lê Văn Đạt" not in export
    others = [r for r in clients["admin"].get("/api/v1/petitions").json()["data"]
              if r["village"] == "thôn Thủy Ba Đông"]
    assert len(others) == len(THUY_BA_DONG)
    for row in others:
        refused = officer.get(f"/api/v1/petitions/{row['id']}")
        assert refused.status_code == 403 and "ngoài địa bàn" in refused.json()["error"]
    assert officer.get("/api/v1/petitions", params={"area": "thôn Thủy Ba Đông"}
                       ).status_code == 403
    trends = officer.get("/api/v1/trends", params={"level": "village"}).json()["data"]
    assert trends and {r["area"] for r in trends} == {"thôn Thủy Ba, xã Vĩnh Giang"}


@pytest.mark.parametrize("body", [
    {"text": "Đường liên thôn ở thôn Gio Mỹ sạt lở, đề nghị sửa.", "received_at": "2025-06-05"},
    {"text": "Đường liên thôn sạt lở, đề nghị sửa.", "received_at": "2025-06-05",
     "area": "thôn Gio Mỹ (giáp thôn Tân Mỹ, xã Vĩnh Giang)"},
    {"text": "Đường liên thôn sạt lở, đề nghị sửa.", "received_at": "2025-06-05",
     "area": "Gio Mỹ"},
])
def test_an_officer_cannot_store_a_petition_that_resolves_outside_the_scope(
    clients: dict[str, TestClient], body: dict[str, str]
) -> None:
    before = _count(clients["admin"])
    refused = clients["tan_my"].post("/api/v1/petitions", json=[body])
    assert refused.status_code == 403
    message = refused.json()["error"]
    assert "ngoài địa bàn phụ trách" in message and "thôn Tân Mỹ" in message
    assert "đơn 0" in message
    assert _count(clients["admin"]) == before


def test_an_officer_stores_petitions_that_resolve_inside_the_scope(
    clients: dict[str, TestClient]
) -> None:
    before = _count(clients["admin"])
    inside = [
        {"text": "Điện chiếu sáng thôn Tân Mỹ hỏng cả tháng nay.", "received_at": "2025-06-05"},
        {"text": "Kênh mương bị bồi lấp.", "received_at": "2025-06-05",
         "area": "thôn Tân Mỹ, xã Vĩnh Giang"},
    ]
    stored = clients["tan_my"].post("/api/v1/petitions", json=inside)
    assert stored.status_code == 201 and stored.json()["stored"] == 2
    assert _count(clients["admin"]) == before + 2
    assert {r["village"] for r in clients["tan_my"].get("/api/v1/petitions").json()["data"]} == {
        "thôn Tân Mỹ"}


def test_a_petition_with_no_place_is_refused_to_a_scoped_officer(
    clients: dict[str, TestClient]
) -> None:
    body = {"text": "Đề nghị xem xét lại mức thu phí vệ sinh.", "received_at": "2025-06-05"}
    refused = clients["tan_my"].post("/api/v1/petitions", json=body)
    assert refused.status_code == 403
    assert "chưa xác định được địa bàn" in refused.json()["error"]
    assert clients["admin"].post("/api/v1/petitions", json=body).status_code == 201


def test_a_token_cannot_widen_to_a_neighbouring_village(store: PetitionStore) -> None:
    engine = store.engine
    create_user(engine, "thuy-ba", "officer", ["thôn Thủy Ba"])
    with pytest.raises(SecurityError, match="hẹp hơn"):
        create_token(engine, "thuy-ba", ["thôn Thủy Ba Đông"])
    assert create_token(engine, "thuy-ba", ["thôn Thủy Ba, xã Vĩnh Giang"]).startswith("tt_")
