"""Review, correction and follow-up through the API: roles, areas, aggregates and audit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from pipeline.config import Settings
from pipeline.store import SecurityStore, create_db_engine
from tests.conftest import sign_in

TAN_MY = [
    {"text": f"Gia đình tôi ở thôn Tân Mỹ bị lấn chiếm {n} mét đất vườn, đề nghị xã giải quyết.",
     "received_at": "2025-06-02", "area": "thôn Tân Mỹ, xã Vĩnh Giang",
     "source_type": "complaint"}
    for n in range(3, 6)
]
GIO_MY = [
    {"text": "Trại heo ở thôn Gio Mỹ xả nước thải ra mương, mùi hôi cả xóm.",
     "received_at": "2025-06-03", "area": "thôn Gio Mỹ, xã Vĩnh Giang"},
]


@pytest.fixture
def clients(settings: Settings) -> Iterator[dict[str, TestClient]]:
    app = create_app(settings)
    with TestClient(app) as admin:
        sign_in(admin, settings.database_url, "admin")
        assert admin.post("/api/v1/petitions", json=TAN_MY + GIO_MY).status_code == 201
        officer = TestClient(app)
        sign_in(officer, settings.database_url, "officer", areas=["thôn Tân Mỹ"],
                name="can-bo-tan-my")
        viewer = TestClient(app)
        sign_in(viewer, settings.database_url, "viewer", name="nguoi-xem")
        analyst = TestClient(app)
        sign_in(analyst, settings.database_url, "analyst", name="phan-tich")
        yield {"admin": admin, "officer": officer, "viewer": viewer, "analyst": analyst}


def _ids(client: TestClient, **params: str) -> list[int]:
    return [r["id"] for r in client.get("/api/v1/petitions", params={"sort": "number", **params}
                                         ).json()["data"]]


def _land_trend(client: TestClient) -> int:
    rows = client.get("/api/v1/trends", params={"topic": "land", "period": "month"}).json()["data"]
    return sum(r["count"] for r in rows)


def test_an_officer_corrects_in_the_area_and_the_trends_move(
    clients: dict[str, TestClient], settings: Settings
) -> None:
    admin, officer = clients["admin"], clients["officer"]
    queue = officer.get("/api/v1/review/queue").json()
    assert queue["count"] == len(TAN_MY)  # only the officer's village
    first = queue["data"][0]
    assert first["confidence"] is not None and first["reviewed_at"] is None
    confidences = [r["confidence"] for r in queue["data"]]
    doubtful = [r["confidence"] < queue["threshold"] or r["cluster_disagrees"]
                for r in queue["data"]]
    assert doubtful == sorted(doubtful, reverse=True)
    assert confidences[:sum(doubtful)] == sorted(confidences[:sum(doubtful)])

    target = first["id"]
    before = _land_trend(admin)
    had_land = "land" in first["topics"]
    corrected = officer.post(f"/api/v1/petitions/{target}/review",
                             json={"topics": ["security"], "note": "thực ra là trộm cắp"})
    assert corrected.status_code == 200
    body = corrected.json()
    assert body["topics"] == ["security"] and body["reviewed_by"] == "can-bo-tan-my"
    assert body["model_topics"] == first["topics"]
    assert _land_trend(admin) == before - (1 if had_land else 0)
    assert officer.get("/api/v1/review/queue").json()["count"] == len(TAN_MY) - 1
    history = officer.get(f"/api/v1/petitions/{target}/history").json()
    assert history[0]["action"] == "correct" and history[0]["note"] == "thực ra là trộm cắp"
    audit = SecurityStore(create_db_engine(settings.database_url)).audit_entries(limit=1000)
    assert any(a["endpoint"] == f"/api/v1/petitions/{target}/review"
               and a["user_name"] == "can-bo-tan-my" and target in a["record_ids"]
               for a in audit)

    gio_my = _ids(admin, area="Gio Mỹ")[0]
    refused = officer.post(f"/api/v1/petitions/{gio_my}/review", json={"topics": ["land"]})
    assert refused.status_code == 403
    moved = officer.post(f"/api/v1/petitions/{target}/review", json={"area": "thôn Gio Mỹ"})
    assert moved.status_code == 403 and "ngoài địa bàn" in moved.json()["error"]
    unknown = officer.post(f"/api/v1/petitions/{target}/review", json={"topics": ["đất"]})
    assert unknown.status_code == 422


def test_viewers_and_analysts_cannot_correct(clients: dict[str, TestClient]) -> None:
    petition_id = _ids(clients["admin"])[0]
    for role in ("viewer", "analyst"):
        client = clients[role]
        assert client.post(f"/api/v1/petitions/{petition_id}/review",
                           json={"topics": ["land"]}).status_code == 403
        assert client.post("/api/v1/cases/update",
                           json={"ids": [petition_id], "status": "resolved"}).status_code == 403
        assert client.get("/api/v1/review/queue").status_code == 403
    assert clients["analyst"].get(f"/api/v1/petitions/{petition_id}/history").status_code == 200


def test_follow_up_in_bulk_and_overdue(clients: dict[str, TestClient]) -> None:
    admin, officer = clients["admin"], clients["officer"]
    # Complaints of 2/6/2025 are due 40 days later: overdue on 13/7, not on 12/7.
    overdue = _ids(officer, overdue="true", as_of="2025-07-13")
    assert len(overdue) == len(TAN_MY)
    assert _ids(officer, overdue="true", as_of="2025-07-12") == []
    row = officer.get(f"/api/v1/petitions/{overdue[0]}").json()
    assert row["due_on"] == "2025-07-12" and row["case_status"] == "received"

    done = officer.post("/api/v1/cases/update", json={
        "filters": {"area": "Tân Mỹ"}, "status": "in_progress", "owner": "Trần Văn Bình"})
    assert done.json() == {"matched": len(TAN_MY), "changed": len(TAN_MY)}
    # The officer's bulk change never reaches another village.
    assert {r["case_status"] for r in admin.get(
        "/api/v1/petitions", params={"area": "Gio Mỹ"}).json()["data"]} == {"received"}
    answered = officer.post("/api/v1/cases/update",
                            json={"ids": overdue[:1], "status": "answered"})
    assert answered.json()["changed"] == 1
    assert len(_ids(officer, overdue="true", as_of="2025-07-13")) == len(TAN_MY) - 1
    assert _ids(officer, status="answered") == overdue[:1]
    summary = officer.get("/api/v1/cases/summary").json()
    assert (summary["in_progress"], summary["answered"], summary["overdue"]) == (
        len(TAN_MY) - 1, 1, len(TAN_MY) - 1)
    # Counted on 13/07/2025 the answer (given today) had not come yet.
    then = officer.get("/api/v1/cases/summary", params={"as_of": "2025-07-13"}).json()
    assert (then["in_progress"], then["answered"], then["overdue"]) == (
        len(TAN_MY), 0, len(TAN_MY))
    gio_my = _ids(admin, area="Gio Mỹ")
    assert officer.post("/api/v1/cases/update",
                        json={"ids": gio_my, "status": "resolved"}).status_code == 403
    both = officer.post("/api/v1/cases/update", json={"ids": overdue, "filters": {}})
    assert both.status_code == 422


def test_agreement_with_reviewed_petitions(clients: dict[str, TestClient]) -> None:
    officer = clients["officer"]
    ids = _ids(officer)
    first = officer.get(f"/api/v1/petitions/{ids[0]}").json()
    officer.post(f"/api/v1/petitions/{ids[0]}/review", json={})
    wrong = ["religion"] if "religion" not in first["topics"] else ["policy"]
    officer.post(f"/api/v1/petitions/{ids[1]}/review", json={"topics": wrong})
    agreement = clients["analyst"].get("/api/v1/review/agreement").json()
    assert (agreement["reviewed"], agreement["agreed"]) == (2, 1)
    assert agreement["agreement"] == 0.5 and "huấn luyện lại" in agreement["warning"]


def test_history_notes_and_people_are_hidden_below_officer(clients: dict[str, TestClient]
                                                           ) -> None:
    officer = clients["officer"]
    petition_id = _ids(officer)[0]
    officer.post("/api/v1/cases/update", json={
        "ids": [petition_id], "owner": "Trần Văn Bình",
        "note": "Đã gọi cho bà Nguyễn Thị Hoa, số 0912 345 678, hẹn gặp thứ Hai"})
    seen = officer.get(f"/api/v1/petitions/{petition_id}/history").json()[0]
    assert "0912 345 678" in seen["note"] and seen["changes"]["owner"][1] == "Trần Văn Bình"
    hidden = clients["analyst"].get(f"/api/v1/petitions/{petition_id}/history").json()[0]
    assert "0912" not in hidden["note"] and "Nguyễn Thị Hoa" not in hidden["note"]
    assert "Trần Văn Bình" not in str(hidden) and "can-bo-tan-my" not in str(hidden)


def test_bulk_filters_keep_the_list_s_ids(clients: dict[str, TestClient]) -> None:
    officer = clients["officer"]
    ids = _ids(officer)
    done = officer.post("/api/v1/cases/update", json={
        "filters": {"area": "Tân Mỹ", "ids": ids[:1]}, "status": "in_progress"})
    assert done.json() == {"matched": 1, "changed": 1}
    assert _ids(officer, status="in_progress") == ids[:1]
