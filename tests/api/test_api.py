"""HTTP API on both databases: health, store a batch with quarantine, list, filter, export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from pipeline.config import Settings
from tests.conftest import sign_in


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        sign_in(test_client, settings.database_url)
        yield test_client


BATCH = [
    {"text": "Trại heo của công ty xả nước thải xuống mương, cả xóm ngửi mùi hôi suốt đêm",
     "received_at": "03/06/2025", "area": "thôn Tân Mỹ, xã Vĩnh Giang", "sender_name": "Lê Văn A"},
    {"text": "Đề nghị xã xem xét cấp sổ đỏ cho gia đình tôi, hồ sơ nộp từ năm 2022",
     "received_at": "2025-06-04", "area": "thôn Hà Lợi", "source_type": "petition"},
    {"text": "", "received_at": "2025-06-05"},
    {"text": "Đèn đường hỏng", "received_at": "31/02/2025"},
]


def test_health_and_metrics(client: TestClient) -> None:
    response = client.get("/api/v1/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"
    client.post("/api/v1/petitions", json=BATCH[:2])
    metrics = client.get("/api/v1/metrics").text
    assert "tamtu_petitions_total 2.0" in metrics


def test_post_batch_accounts_for_every_item(client: TestClient) -> None:
    response = client.post("/api/v1/petitions", json=BATCH)
    assert response.status_code == 201
    body = response.json()
    assert (body["read"], body["stored"], body["duplicates"], body["quarantined"]) == (4, 2, 0, 2)
    reasons = {q["index"]: q["reason"] for q in body["quarantine"]}
    assert reasons[2] == "Dòng không có nội dung" and "31/02/2025" in reasons[3]
    again = client.post("/api/v1/petitions", json=BATCH[0]).json()
    assert (again["stored"], again["duplicates"]) == (0, 1)


def test_list_filters_and_csv_export(client: TestClient) -> None:
    client.post("/api/v1/petitions", json=BATCH[:2])
    page = client.get("/api/v1/petitions", params={"limit": 1}).json()
    assert page["count"] == 2 and len(page["data"]) == 1
    assert page["data"][0]["received_at"] == "2025-06-04"  # newest first
    environment = client.get("/api/v1/petitions", params={"topic": "environment"}).json()
    # Completed from the local gazetteer (data/gazetteer/quang-tri-vinh-giang.csv).
    assert [p["area"] for p in environment["data"]] == [
        "thôn Tân Mỹ, xã Vĩnh Giang, tỉnh Quảng Trị"
    ]
    searched = client.get("/api/v1/petitions", params={"q": "sổ đỏ"}).json()
    assert searched["count"] == 1
    one_id = searched["data"][0]["id"]
    exact = client.get("/api/v1/petitions", params={"ids": f"{one_id},999999"}).json()
    assert [p["id"] for p in exact["data"]] == [one_id]
    assert client.get("/api/v1/petitions", params={"ids": "1;2"}).status_code == 422
    dated = client.get("/api/v1/petitions", params={"from": "2025-06-04", "to": "2025-06-30"})
    assert dated.json()["count"] == 1
    export = client.get("/api/v1/petitions", params={"format": "csv"})
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert len(rows) == 2 and "sender_name" in rows[0]
    one = client.get(f"/api/v1/petitions/{page['data'][0]['id']}").json()
    assert one["topics"] and one["scores"]


def test_errors_are_json_with_a_message(client: TestClient) -> None:
    missing = client.get("/api/v1/petitions/999999")
    assert missing.status_code == 404 and "999999" in missing.json()["error"]
    bad = client.get("/api/v1/petitions", params={"limit": 100000})
    assert bad.status_code == 422 and bad.json()["error"] == "Dữ liệu gửi lên không hợp lệ"
    reversed_dates = client.get(
        "/api/v1/petitions", params={"from": "2025-07-01", "to": "2025-06-01"}
    )
    assert reversed_dates.status_code == 422


def test_classify_endpoint(client: TestClient) -> None:
    response = client.post("/api/v1/classify", json={
        "texts": ["Nhà thờ giáo xứ xin cấp phép xây thêm nhà giáo lý nhưng xã chưa trả lời",
                  "Cảm ơn các anh công an xã đã giúp tìm lại con bò bị lạc"],
    })
    assert response.status_code == 200
    first, second = response.json()["data"]
    assert "religion" in first["topics"]
    assert set(first["scores"]) >= {"land", "religion", "security"}
    assert client.post("/api/v1/classify", json={}).status_code == 422


def test_a_petition_shows_its_near_duplicates(settings: Settings) -> None:
    letter = ("Trại heo của Công ty TNHH Chăn nuôi Hưng Phát xả nước thải ra mương chung, mùi "
              "hôi thối {w}, ruồi muỗi nhiều, trẻ nhỏ bị ho, đề nghị xã kiểm tra và xử lý ngay")
    batch = [
        {"text": letter.format(w="nồng nặc"), "received_at": "2025-06-03",
         "area": "thôn Tân Mỹ, xã Vĩnh Giang", "sender_name": "Lê Văn An"},
        {"text": letter.format(w="rất nặng"), "received_at": "2025-06-04",
         "area": "thôn Hà Lợi, xã Vĩnh Hà", "sender_name": "Trần Thị Bình"},
        {"text": letter.format(w="không chịu nổi"), "received_at": "2025-06-05",
         "area": "thôn Tân Mỹ, xã Vĩnh Giang", "sender_name": "Phạm Văn Cường"},
    ]
    with TestClient(create_app(settings)) as admin:
        sign_in(admin, settings.database_url)
        body = admin.post("/api/v1/petitions", json=batch).json()
        assert (body["stored"], body["near_duplicates"]) == (3, 2)
        ids = sorted(p["id"] for p in admin.get("/api/v1/petitions").json()["data"])
        last = admin.get(f"/api/v1/petitions/{ids[2]}").json()
        assert last["cluster_id"] == ids[0]
        assert [(p["id"], p["received_at"]) for p in last["near_duplicates"]] == [
            (ids[0], "2025-06-03"), (ids[1], "2025-06-04")]
        assert last["near_duplicates"][1]["area"].startswith("thôn Hà Lợi, xã Vĩnh Hà")
    with TestClient(create_app(settings)) as analyst:
        sign_in(analyst, settings.database_url, "analyst", areas=["xã Vĩnh Giang"])
        seen = analyst.get(f"/api/v1/petitions/{ids[2]}").json()
        # Another commune's copy is not shown to an analyst of this commune; the text is redacted.
        assert [p["id"] for p in seen["near_duplicates"]] == [ids[0]]
        assert seen["sender_name"] == "[ẨN]" and seen["cluster_id"] == ids[0]
