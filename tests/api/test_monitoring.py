"""Trends, hot spots, emerging issues and alerts through the API and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli_app
from pipeline.config import Settings, get_settings
from pipeline.monitor.engine import run_alerts
from pipeline.store import PetitionStore, create_db_engine
from tests.conftest import sign_in

AS_OF = date(2025, 6, 20)
RELIGION = [
    "Một nhóm người lạ đến từng nhà ở thôn Phúc Lâm vận động bà con bỏ thờ cúng tổ tiên để theo "
    "đạo mới, hứa cho tiền và gạo",
    "Nhóm truyền đạo lạ tổ chức sinh hoạt tôn giáo trái phép tại nhà ông Hai ở thôn Phúc Lâm vào "
    "ban đêm, bảo người bệnh không cần đi viện",
    "Bà con thôn Phúc Lâm lo lắng vì có người phát tờ rơi truyền đạo lạ, rủ con cháu bỏ học đi "
    "cầu nguyện",
    "Đề nghị xã kiểm tra điểm nhóm tôn giáo tự phát mới lập ở thôn Phúc Lâm, họ thu tiền dâng "
    "cúng của người nghèo",
    "Tà đạo đang lôi kéo người già ở thôn Phúc Lâm, bảo đập bỏ bàn thờ gia tiên",
    "Nhóm đạo lạ tụ tập hát xướng ở thôn Phúc Lâm đến khuya, nhiều nhà bỏ việc đồng áng",
]
CAMPAIGN = ("Chúng tôi là người dân thôn Lai Phước, sống gần trại heo của Công ty TNHH Chăn nuôi "
            "Hưng Phát. Mùi hôi thối nồng nặc suốt ngày đêm, đề nghị xã kiểm tra xử lý")
ROUTINE = [
    "Đèn đường thôn Cổ Mỹ hỏng mấy hôm nay", "Xin hỏi thủ tục làm lại giấy khai sinh",
    "Mương nước đầu thôn Cổ Mỹ bị tắc", "Đường liên thôn Cổ Mỹ có nhiều ổ gà",
]


def _batch() -> list[dict[str, str]]:
    items = []
    for week in range(20, 1, -1):  # quiet history in another village
        day = AS_OF - timedelta(days=7 * week)
        for i, text in enumerate(ROUTINE):
            items.append({"text": f"{text} (lần {week}-{i})", "received_at": day.isoformat(),
                          "area": "thôn Cổ Mỹ, xã Vĩnh Giang"})
    for i, text in enumerate(RELIGION):
        items.append({"text": text, "received_at": (AS_OF - timedelta(days=i % 5)).isoformat(),
                      "area": "thôn Phúc Lâm, xã Vĩnh Giang", "sender_name": f"Người {i}"})
    for i in range(4):
        items.append({"text": CAMPAIGN, "received_at": (AS_OF - timedelta(days=i)).isoformat(),
                      "area": "thôn Lai Phước, xã Vĩnh Giang", "sender_name": f"Hộ {i}"})
    return items


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        sign_in(test_client, settings.database_url)
        response = test_client.post("/api/v1/petitions", json=_batch())
        assert response.status_code == 201
        yield test_client


def test_hotspots_are_found_and_explained(client: TestClient) -> None:
    body = client.get("/api/v1/hotspots", params={"as_of": AS_OF.isoformat()}).json()
    assert body["as_of"] == "2025-06-20"
    religion = [h for h in body["data"] if h["topic"] == "religion" and "Phúc Lâm" in h["area"]]
    assert religion, body
    spot = religion[0]
    assert {"area", "topic", "window_start", "window_end", "count", "expected", "score",
            "severity", "explanation", "petition_ids"} <= set(spot)
    assert spot["count"] >= 4 and spot["severity"] in {"medium", "high"}
    assert "Tôn giáo" in spot["explanation"] and "Phúc Lâm" in spot["explanation"]
    before = client.get("/api/v1/hotspots", params={"as_of": "2025-05-01"}).json()
    assert not [h for h in before["data"] if "Phúc Lâm" in h["area"]]


def test_hotspot_limits_per_cell(client: TestClient) -> None:
    body = client.get("/api/v1/hotspots/limits", params={"as_of": AS_OF.isoformat()}).json()
    assert body["as_of"] == "2025-06-20" and body["count"] == len(body["data"]) > 0
    rows = {(r["area"], r["topic"]): r for r in body["data"]}
    usual = [r for (area, _), r in rows.items() if "Cổ Mỹ" in area and r["expected"] > 0.5]
    assert usual
    for row in usual:
        assert set(row) == {"level", "area", "topic", "expected", "threshold", "min_spike"}
        assert row["level"] == "village" and row["threshold"] > row["expected"]
        assert 1 <= row["min_spike"] <= row["threshold"]
    communes = client.get("/api/v1/hotspots/limits",
                          params={"as_of": AS_OF.isoformat(), "level": "commune"}).json()
    assert {r["area"] for r in communes["data"]} == {"xã Vĩnh Giang"}


def test_emerging_campaign_and_trends(client: TestClient) -> None:
    issues = client.get("/api/v1/emerging", params={"as_of": AS_OF.isoformat()}).json()["data"]
    clusters = [i for i in issues if i["kind"] == "cluster"]
    assert clusters and clusters[0]["count"] == 4 and "Lai Phước" in clusters[0]["area"]
    table = client.get("/api/v1/trends", params={"period": "month", "level": "village"}).json()
    assert table["columns"][:5] == ["period_start", "area", "topic", "source_type", "count"]
    june = [r for r in table["data"] if r["period_start"] == "2025-06-01"
            and r["topic"] == "religion" and "Phúc Lâm" in r["area"]]
    assert june and june[0]["count"] >= 4
    bad = client.get("/api/v1/trends", params={"period": "year"})
    assert bad.status_code == 422


def test_alert_rules_alerts_and_ack(client: TestClient, settings: Settings) -> None:
    rule = {"name": "Tôn giáo toàn xã", "topics": ["religion"], "min_severity": "low",
            "channels": [{"type": "webhook", "url": "http://127.0.0.1:9/hook", "secret": "s3"}]}
    created = client.post("/api/v1/alert-rules", json=rule)
    assert created.status_code == 201
    assert created.json()["channels"][0]["secret"] == "***"
    assert client.post("/api/v1/alert-rules", json=rule).status_code == 409
    assert client.post("/api/v1/alert-rules", json={**rule, "name": "x", "topics": ["đất"]}
                       ).status_code == 422
    store = PetitionStore(create_db_engine(settings.database_url))
    # The ingest already opened the episodes: evaluating again opens no second alert.
    first = run_alerts(settings, store, as_of=AS_OF, send=False)
    again = run_alerts(settings, store, as_of=AS_OF, send=False)
    assert first.hotspots >= 1
    assert [c for c in first.changes + again.changes if c.kind == "new"] == []
    alerts = client.get("/api/v1/alerts").json()["data"]
    religion = next(a for a in alerts if a["topic"] == "religion")
    acked = client.post(f"/api/v1/alerts/{religion['id']}/ack", json={"note": "đã cử cán bộ"})
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
    assert acked.json()["acked_by"] == "admin-0"
    assert client.post("/api/v1/alerts/999999/ack", json={}).status_code == 404
    rule_id = created.json()["id"]
    toggled = client.put(f"/api/v1/alert-rules/{rule_id}",
                         json={**created.json(), "enabled": False} | {"id": None})
    assert toggled.status_code == 422  # unknown field "id" is refused
    body = {k: v for k, v in created.json().items() if k != "id"}
    toggled = client.put(f"/api/v1/alert-rules/{rule_id}", json={**body, "enabled": False})
    assert toggled.status_code == 200 and toggled.json()["enabled"] is False
    from pipeline.store import AlertStore

    stored = AlertStore(create_db_engine(settings.database_url)).get_rule(rule_id)
    assert stored is not None and stored["channels"][0]["secret"] == "s3"
    assert client.delete(f"/api/v1/alert-rules/{rule_id}").status_code == 204
    assert client.delete(f"/api/v1/alert-rules/{rule_id}").status_code == 404


def test_cli_hotspots_json_and_trends(client: TestClient, settings: Settings,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAMTU_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        result = runner.invoke(cli_app, ["hotspots", "--as-of", "2025-06-20", "--json"])
        assert result.exit_code == 0, result.output
        spots = json.loads(result.output)
        assert any(s["topic"] == "religion" for s in spots)
        text = runner.invoke(cli_app, ["trends", "--period", "month", "--level", "village"])
        assert text.exit_code == 0 and "Xu hướng" in text.output
        # Day first, as the office writes it, gives the same answer; a day that does not exist
        # is a usage mistake.
        day_first = runner.invoke(cli_app, ["hotspots", "--as-of", "20/06/2025", "--json"])
        assert day_first.exit_code == 0 and json.loads(day_first.output) == spots
        bad = runner.invoke(cli_app, ["hotspots", "--as-of", "31/02/2025"])
        assert bad.exit_code == 2 and "ngày '31/02/2025' không tồn tại" in bad.output
        ran = runner.invoke(cli_app, ["alerts", "run", "--as-of", "2025-06-20"])
        assert ran.exit_code == 0 and "điểm nóng" in ran.output
    finally:
        get_settings.cache_clear()


def test_posting_petitions_evaluates_alerts(client: TestClient, settings: Settings) -> None:
    # The fixture's POST ran the alert evaluation in the background with the default rules.
    from pipeline.store import AlertStore

    store = AlertStore(create_db_engine(settings.database_url))
    assert store.list_rules(), "default rules were installed on first evaluation"
    alerts = store.list_alerts()
    assert any(a["topic"] == "religion" and "Phúc Lâm" in a["area"] for a in alerts)


@pytest.mark.parametrize("typed", ["PHUC LAM", "phuc lam", "Phúc Lâm", "PHÚC LÂM"])
def test_area_filters_ignore_case_and_accents(client: TestClient, typed: str) -> None:
    spots = client.get("/api/v1/hotspots", params={"as_of": AS_OF.isoformat(), "area": typed})
    assert spots.status_code == 200
    assert spots.json()["data"] and all("Phúc Lâm" in h["area"] for h in spots.json()["data"])
    listed = client.get("/api/v1/petitions", params={"area": typed, "limit": 100}).json()
    assert listed["count"] == len(RELIGION)
    trends = client.get("/api/v1/trends", params={"area": typed, "level": "village"}).json()
    assert {row["area"] for row in trends["data"]} == {"thôn Phúc Lâm, xã Vĩnh Giang"}
    assert sum(row["count"] for row in trends["data"]) >= len(RELIGION)


def test_hotspot_area_filter_that_matches_nothing(client: TestClient) -> None:
    body = client.get("/api/v1/hotspots", params={"as_of": AS_OF.isoformat(), "area": "Gio Mai"})
    assert body.status_code == 200 and body.json()["data"] == []


def test_alerts_live_on_a_day_of_the_data(client: TestClient) -> None:
    # The ingest evaluated the days it touched: the religion episode is live on 20/06.
    live = client.get("/api/v1/alerts", params={"as_of": AS_OF.isoformat()}).json()["data"]
    religion = [a for a in live if a["topic"] == "religion"]
    assert religion and all(a["window_start"] <= "2025-06-20" <= a["window_end"] for a in live)
    assert client.get("/api/v1/alerts", params={"as_of": "2025-01-01"}).json()["data"] == []
