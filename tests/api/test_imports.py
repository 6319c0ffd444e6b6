"""Import through the API: upload, preview with detected columns, remap, ingest, accounting."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from pipeline.config import Settings
from tests.conftest import sign_in

# "Tâm sự của bà con" is no header the readers know: the officer maps it to the content.
CSV_TEXT = (
    "Ngày nhận,Tâm sự của bà con,Địa chỉ\n"
    "03/06/2025,Trại heo xả nước thải xuống mương gây mùi hôi cả xóm,"
    "\"thôn Tân Mỹ, xã Vĩnh Giang\"\n"
    "04/06/2025,Đường vào thôn bị sạt lở sau mưa lớn đề nghị sửa gấp,"
    "\"thôn Hà Lợi, xã Vĩnh Giang\"\n"
    "05/06/2025,Đèn đường ở ngã ba hỏng đã hai tuần chưa ai thay,\"xã Gio Mỹ\"\n"
    "31/02/2025,Ngày viết sai nên dòng này phải bị cách ly,\"xã Vĩnh Giang\"\n"
)


def wait_done(client: TestClient, job_id: str) -> dict[str, Any]:
    """Poll an import until it has finished; fail when it never does."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"/api/v1/imports/{job_id}").json()
        if body["phase"] in ("done", "failed"):
            return body
        time.sleep(0.1)
    pytest.fail("lượt nhập không xong")


@pytest.fixture
def officer(tmp_path: Any) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path / 'imports.db'}"
    settings = Settings(database_url=url, runs_dir=tmp_path / "runs")
    with TestClient(create_app(settings)) as client:
        sign_in(client, url, "officer", ["xã Vĩnh Giang"], name="canbo")
        yield client


def upload(client: TestClient, *files: tuple[str, bytes]) -> dict[str, Any]:
    response = client.post("/api/v1/imports", files=[("files", (n, b)) for n, b in files])
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_preview_remap_ingest_and_quarantine(officer: TestClient) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["BÁO CÁO ĐƠN THƯ THÁNG 6"])  # a title block above the table
    sheet.append(["Nội dung", "Ngày tiếp nhận", "Thôn", "Xã"])
    sheet.append(["Nước giếng nhiễm phèn, đề nghị xã hỗ trợ lọc nước", "06/06/2025",
                  "Tân Mỹ", "Vĩnh Giang"])
    data = io.BytesIO()
    book.save(data)
    preview = upload(officer, ("don-thang-6.csv", CSV_TEXT.encode()),
                     ("bang.xlsx", data.getvalue()))
    table, sheet_preview = preview["files"]
    assert table["columns"] == ["Ngày nhận", "Tâm sự của bà con", "Địa chỉ"]
    assert table["fields"] == ["received_at", "", "area"]
    assert table["total_rows"] == 4 and len(table["rows"]) == 4
    assert "nội dung" in table["problem"].lower()
    assert sheet_preview["fields"] == ["text", "received_at", "area_part", "area_part"]
    assert sheet_preview["problem"] is None

    started = officer.post(f"/api/v1/imports/{preview['id']}/start", json={
        "mappings": {"don-thang-6.csv": {"Tâm sự của bà con": "text"}}})
    assert started.status_code == 202, started.text
    done = wait_done(officer, preview["id"])
    assert done["phase"] == "done", done
    report = done["report"]
    assert report["read"] == 5 and done["processed"] == 5 and done["total"] == 5
    assert report["read"] == report["stored"] + report["duplicates"] + report["quarantined"]
    # Gio Mỹ lies outside this officer's commune; 31/02 is no date.
    assert (report["stored"], report["quarantined"]) == (3, 2)
    assert report["has_quarantine"] and "quarantine_csv" not in report

    rows = list(csv.reader(io.StringIO(
        officer.get(f"/api/v1/imports/{preview['id']}/quarantine.csv").text.lstrip("\ufeff"))))
    assert rows[0] == ["tệp", "dòng", "lý do", "dữ liệu gốc"]
    reasons = {r[1]: (r[0], r[2]) for r in rows[1:]}
    assert reasons["4"][0] == "don-thang-6.csv"
    assert "ngoài địa bàn phụ trách" in reasons["4"][1] and "31/02/2025" in reasons["5"][1]
    stored = officer.get("/api/v1/petitions", params={"q": "nhiễm phèn"}).json()
    assert stored["count"] == 1 and "Tân Mỹ" in stored["data"][0]["area"]

    again = officer.post(f"/api/v1/imports/{preview['id']}/start", json={})
    assert again.status_code == 409


def test_bad_mapping_and_unknown_file_are_refused(officer: TestClient) -> None:
    preview = upload(officer, ("a.csv", CSV_TEXT.encode()))
    bad = officer.post(f"/api/v1/imports/{preview['id']}/start",
                       json={"mappings": {"a.csv": {"Tâm sự của bà con": "noidung"}}})
    assert bad.status_code == 422 and "noidung" in bad.json()["error"]
    unknown = officer.post(f"/api/v1/imports/{preview['id']}/start",
                           json={"mappings": {"b.csv": {"x": "text"}}})
    assert unknown.status_code == 422 and "b.csv" in unknown.json()["error"]


def test_documents_preview_their_text_and_others_cannot_see_the_import(
    officer: TestClient, tmp_path: Any
) -> None:
    letter = "Kính gửi UBND xã Vĩnh Giang. Tôi đề nghị xã sửa cầu tràn thôn Tân Mỹ.".encode()
    preview = upload(officer, ("don.txt", letter))
    assert preview["files"][0]["kind"] == "document"
    assert "cầu tràn" in preview["files"][0]["rows"][0][0]
    url = str(officer.app.state.settings.database_url)  # type: ignore[attr-defined]
    other = sign_in(officer, url, "officer", name="canbo-khac")
    assert other.startswith("tt_")
    assert officer.get(f"/api/v1/imports/{preview['id']}").status_code == 404
    sign_in(officer, url, "viewer", name="nguoixem")
    assert officer.post("/api/v1/imports", files=[("files", ("x.txt", letter))]
                        ).status_code == 403
