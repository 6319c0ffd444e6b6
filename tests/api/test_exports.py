"""Excel exports of the petition list, the trends and the heat table, on both databases."""

from __future__ import annotations

import io
from collections.abc import Iterator

import openpyxl
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.xlsx import XLSX_TYPE
from pipeline.config import Settings
from tests.conftest import sign_in

BATCH = [
    {"text": "Trại heo xả nước thải xuống mương, cả xóm ngửi mùi hôi", "received_at": "2025-05-20",
     "area": "thôn Tân Mỹ, xã Vĩnh Giang", "sender_name": "Lê Văn A"},
    {"text": "Khói lò gạch bay vào nhà dân, đề nghị xã kiểm tra", "received_at": "2025-06-03",
     "area": "thôn Tân Mỹ, xã Vĩnh Giang"},
    {"text": "Bãi rác tự phát ven sông bốc mùi hôi thối", "received_at": "2025-06-10",
     "area": "thôn Hà Lợi, xã Vĩnh Giang"},
    {"text": "Đề nghị cấp sổ đỏ cho thửa đất gia đình đã ở từ năm 1990",
     "received_at": "2025-06-12", "area": "thôn Hà Lợi, xã Vĩnh Giang"},
]


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        sign_in(test_client, settings.database_url, "officer")
        assert test_client.post("/api/v1/petitions", json=BATCH).json()["stored"] == 4
        yield test_client


def _sheets(response: object) -> dict[str, list[tuple[object, ...]]]:
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == XLSX_TYPE  # type: ignore[attr-defined]
    book = openpyxl.load_workbook(io.BytesIO(response.content))  # type: ignore[attr-defined]
    return {s.title: [tuple(r) for r in s.iter_rows(values_only=True)] for s in book.worksheets}


def test_petition_list_as_xlsx_follows_filters_and_order(client: TestClient) -> None:
    sheets = _sheets(client.get("/api/v1/petitions", params={
        "format": "xlsx", "q": "mui hoi", "sort": "oldest"}))
    rows = sheets["Đơn thư"]
    assert rows[0][:4] == ("Số", "Ngày nhận", "Địa bàn", "Loại nguồn")
    texts = [r[rows[0].index("Nội dung")] for r in rows[1:]]
    assert texts == [BATCH[0]["text"], BATCH[2]["text"]]
    assert "Môi trường" in rows[1][rows[0].index("Lĩnh vực")]
    # An officer sees the sender, as on the page.
    assert rows[1][rows[0].index("Người gửi")] == "Lê Văn A"


def test_trends_as_xlsx_per_period_and_in_detail(client: TestClient) -> None:
    sheets = _sheets(client.get("/api/v1/trends", params={"format": "xlsx", "period": "month"}))
    by_period = sheets["Theo kỳ"]
    assert by_period[0][0] == "Tháng bắt đầu" and "Môi trường" in by_period[0]
    assert [r[0].date().isoformat() for r in by_period[1:]] == ["2025-05-01", "2025-06-01"]
    total = {r[0].date().isoformat(): sum(r[1:]) for r in by_period[1:]}
    assert total["2025-06-01"] >= 3
    detail = sheets["Chi tiết"]
    assert detail[0][:5] == ("Đầu kỳ", "Địa bàn", "Lĩnh vực", "Loại nguồn", "Số đơn")
    assert sum(r[4] for r in detail[1:]) == sum(total.values())


def test_heat_table_as_xlsx_counts_the_latest_period_and_its_change(client: TestClient) -> None:
    sheets = _sheets(client.get("/api/v1/trends", params={
        "format": "xlsx", "layout": "heat", "period": "month", "level": "village",
        "from": "2025-05-01", "to": "2025-06-15"}))
    counts, change = sheets["Số đơn"], sheets["Thay đổi"]
    assert "đến ngày 15/06/2025" in counts[0][0]
    header = counts[1]
    assert header[0] == "Địa bàn" and header[-1] == "Tổng"
    rows = {r[0]: r for r in counts[2:]}
    assert rows["thôn Hà Lợi, xã Vĩnh Giang"][-1] == 2
    assert rows["thôn Tân Mỹ, xã Vĩnh Giang"][-1] == 1
    changes = {r[0]: r for r in change[2:]}
    # Tân Mỹ had its one May petition in the same topic: June's change there nets to zero.
    environment = header.index("Môi trường")
    assert changes["thôn Tân Mỹ, xã Vĩnh Giang"][environment] == (
        rows["thôn Tân Mỹ, xã Vĩnh Giang"][environment] - 1)


def test_nothing_to_export_is_a_clear_error(client: TestClient) -> None:
    response = client.get("/api/v1/trends", params={"format": "xlsx", "from": "2024-01-01",
                                                    "to": "2024-02-01"})
    assert response.status_code == 404 and "Không có số liệu" in response.json()["error"]
