"""Probes of personal data reaching analysts: text without diacritics, file names, extra columns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli_app
from pipeline.config import Settings, get_settings
from tests.conftest import sign_in

UNACCENTED = (
    "Toi ten la Nguyen Thi Hoa, so dien thoai 0912 345 678, CCCD 0380 1234 5678, dia chi so 12 "
    "duong Le Loi, thon Tan My. Toi to cao ong Tran Van Binh can bo dia chinh xa nhan tien "
    "cua dan de cap so do sai quy dinh."
)
DOCX_NAME = "Don to cao - Nguyen Thi Hoa - 0912345678.docx"
LEAKS = ["Nguyen Thi Hoa", "0912 345 678", "0912345678", "0380 1234 5678", "so 12 duong Le Loi",
         "Tran Van Binh", "Hoa", "038099887766"]


@pytest.fixture
def clients(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[dict[str, TestClient]]:
    document = docx.Document()
    document.add_paragraph("Kính gửi UBND xã Vĩnh Giang. Tôi tố cáo cán bộ địa chính thôn Tân "
                           "Mỹ nhận tiền để cấp giấy chứng nhận quyền sử dụng đất sai quy định.")
    document.save(str(tmp_path / DOCX_NAME))
    (tmp_path / "cu-tri.csv").write_text(
        "Ngày tiếp nhận,Địa chỉ,Nội dung đơn,CCCD người gửi\n"
        "05/06/2025,thôn Tân Mỹ,Đèn đường thôn Tân Mỹ hỏng đã lâu,038099887766\n",
        encoding="utf-8")
    monkeypatch.setenv("TAMTU_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TAMTU_RUNS_DIR", str(tmp_path / "runs"))
    get_settings.cache_clear()
    try:
        for path, kind in ((tmp_path / DOCX_NAME, "denunciation"),
                           (tmp_path / "cu-tri.csv", "petition")):
            result = CliRunner().invoke(cli_app, ["ingest", str(path), "--source-type", kind,
                                                  "--workers", "1"])
            assert result.exit_code == 0, result.output
    finally:
        get_settings.cache_clear()
    app = create_app(settings)
    with TestClient(app) as admin:
        sign_in(admin, settings.database_url, "admin")
        posted = admin.post("/api/v1/petitions", json={
            "text": UNACCENTED, "received_at": "2025-06-04", "area": "thôn Tân Mỹ",
            "source_type": "denunciation", "external_id": "Nguyen Thi Hoa 0912345678"})
        assert posted.status_code == 201
        clients = {"admin": admin}
        for role in ("viewer", "analyst", "officer"):
            clients[role] = TestClient(app)
            sign_in(clients[role], settings.database_url, role)
        yield clients


def _bodies(client: TestClient) -> list[str]:
    listed = client.get("/api/v1/petitions")
    assert listed.status_code == 200 and listed.json()["count"] == 3
    bodies = [listed.text]
    for row in listed.json()["data"]:
        bodies.append(client.get(f"/api/v1/petitions/{row['id']}").text)
    for params in ({"q": "tien"}, {"q": "dia chinh"}, {"format": "csv"},
                   {"format": "csv", "q": "Toi"}):
        response = client.get("/api/v1/petitions", params=params)
        assert response.status_code == 200
        bodies.append(response.text)
    return bodies


def test_no_personal_data_reaches_an_analyst(clients: dict[str, TestClient]) -> None:
    bodies = _bodies(clients["analyst"])
    for body in bodies:
        for leak in LEAKS:
            assert leak not in body, leak
    rows = clients["analyst"].get("/api/v1/petitions").json()["data"]
    by_file = {r["source_file"] for r in rows}
    assert "[ẨN].docx" in by_file and "[ẨN].csv" in by_file
    typed = next(r for r in rows if "Toi" in r["text"])
    assert typed["external_id"] == "[ẨN]"
    assert typed["text"].count("[HỌ TÊN]") == 2 and "[CCCD]" in typed["text"]
    extra = next(r for r in rows if r["extra_columns"])
    assert extra["extra_columns"] == {"CCCD người gửi": "[ẨN]"}


def test_an_officer_reads_what_was_sent(clients: dict[str, TestClient]) -> None:
    rows = clients["officer"].get("/api/v1/petitions").json()["data"]
    assert any(r["source_file"].endswith(DOCX_NAME) for r in rows)
    assert any(r["external_id"] == "Nguyen Thi Hoa 0912345678" for r in rows)
    assert any(r["extra_columns"] == {"CCCD người gửi": "038099887766"} for r in rows)
    export = clients["officer"].get("/api/v1/petitions", params={"format": "csv"}).text
    assert "038099887766" in export and "Nguyen Thi Hoa" in export


@pytest.mark.parametrize("query", ["0912 345 678", "0912345678", "ong Tran Van Binh",
                                   "CCCD 0380 1234 5678"])
def test_an_analyst_cannot_search_for_personal_data(clients: dict[str, TestClient],
                                                     query: str) -> None:
    refused = clients["analyst"].get("/api/v1/petitions", params={"q": query})
    assert refused.status_code == 403 and "cán bộ phụ trách" in refused.json()["error"]
    found = clients["officer"].get("/api/v1/petitions", params={"q": query})
    assert found.status_code == 200


def test_a_viewer_gets_counts_but_no_petition(clients: dict[str, TestClient]) -> None:
    viewer = clients["viewer"]
    rows = clients["admin"].get("/api/v1/petitions").json()["data"]
    assert viewer.get("/api/v1/petitions").status_code == 403
    assert viewer.get("/api/v1/petitions", params={"format": "csv"}).status_code == 403
    for row in rows:
        assert viewer.get(f"/api/v1/petitions/{row['id']}").status_code == 403
    bodies = []
    for path in ("/api/v1/trends?level=village", "/api/v1/hotspots", "/api/v1/emerging",
                 "/api/v1/alerts"):
        response = viewer.get(path)
        assert response.status_code == 200, path
        bodies.append(response.text)
    assert any("Tân Mỹ" in body for body in bodies)
    for body in bodies:
        for leak in LEAKS:
            assert leak not in body, leak
