"""Readers: header mapping, dates, formats, and the quarantine of bad rows and files."""

from __future__ import annotations

import json
import unicodedata
from datetime import date
from pathlib import Path

import pytest

from pipeline.intake.readers import DateError, Ingestor, MappingError, parse_date, parse_mapping
from pipeline.records import QuarantineRow, Record


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-06-14", date(2025, 6, 14)),
        ("2025-06-04T08:30:00", date(2025, 6, 4)),
        ("04/06/2025", date(2025, 6, 4)),
        ("4/6/25", date(2025, 6, 4)),
        ("14-06-2025", date(2025, 6, 14)),
        ("14.06.2025", date(2025, 6, 14)),
        ("01/02/2025 08:15", date(2025, 2, 1)),
        (45822, date(2025, 6, 14)),
        ("45822", date(2025, 6, 14)),
        ("ngày 14 tháng 6 năm 2025", date(2025, 6, 14)),
        ("", None),
        (None, None),
    ],
)
def test_dates_are_read_day_first(value: object, expected: date | None) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [("31/02/2025", "không tồn tại"), ("hôm qua", "không đọc được"), ("13/13/2025", "không")],
)
def test_bad_dates_raise(value: str, message: str) -> None:
    with pytest.raises(DateError, match=message):
        parse_date(value)


def test_map_option_accepts_vietnamese_headers_and_rejects_unknown_fields() -> None:
    assert parse_mapping(["Ý kiến cử tri=text"]) == {"y kien cu tri": "text"}
    with pytest.raises(MappingError, match="không có"):
        parse_mapping(["Ý kiến=noidung"])
    with pytest.raises(MappingError, match="cột=trường"):
        parse_mapping(["chỉ có tên cột"])


def _read(path: Path, **kwargs: object) -> list[Record | QuarantineRow]:
    return list(Ingestor(**kwargs).read_paths([path]))  # type: ignore[arg-type]


def test_csv_with_vietnamese_headers_maps_every_field(tmp_path: Path) -> None:
    path = tmp_path / "don.csv"
    path.write_text(
        "STT,Ngày tiếp nhận,Họ tên,Số điện thoại,Thôn,Xã,Loại đơn,Nội dung đơn\n"
        "1,03/02/2025,Lê Văn Tám,0905 123 456,Tân Mỹ,Vĩnh Giang,Đơn khiếu nại,"
        "\"Gia đình tôi bị lấn chiếm 20m2 đất vườn, đề nghị xã giải quyết.\"\n"
        "2,,Trần Thị Hoa,,Thôn 5,,Phản ánh,Đèn đường xóm tôi hỏng cả tháng nay.\n",
        encoding="utf-8",
    )
    first, second = _read(path)
    assert isinstance(first, Record) and isinstance(second, Record)
    assert first.received_at == date(2025, 2, 3)
    assert first.sender_name == "Lê Văn Tám"
    assert first.sender_contact == "0905 123 456"
    assert first.area == "thôn Tân Mỹ, xã Vĩnh Giang"
    assert first.source_type == "complaint"
    assert first.source_row == 2
    assert second.area == "Thôn 5"
    assert second.source_type == "feedback"
    assert second.received_at is None


def _to_cp1258(text: str) -> bytes:
    # Windows-1258 has precomposed â, ê, ô, ơ, ư, ă, đ but writes tone marks as combining marks.
    tones = "\u0300\u0301\u0303\u0309\u0323"
    out = []
    for char in text:
        parts = unicodedata.normalize("NFD", char)
        base = "".join(c for c in parts if c not in tones)
        out.append(unicodedata.normalize("NFC", base) + "".join(c for c in parts if c in tones))
    return "".join(out).encode("cp1258")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1258"])
def test_csv_encodings_are_detected(tmp_path: Path, encoding: str) -> None:
    text = "Nội dung,Địa chỉ\nNước giếng nhà tôi có mùi hôi từ trại heo,thôn Hà Lợi\n"
    path = tmp_path / "don.csv"
    if encoding == "cp1258":
        path.write_bytes(_to_cp1258(text))
    else:
        path.write_text(text, encoding=encoding)
    (record,) = _read(path)
    assert isinstance(record, Record)
    assert record.text == "Nước giếng nhà tôi có mùi hôi từ trại heo"
    assert record.area == "thôn Hà Lợi"


def test_csv_rows_without_text_or_with_bad_dates_are_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "don.csv"
    path.write_text(
        "Nội dung,Ngày nhận\n"
        "Đường bê tông thôn 3 bị nứt,01/03/2025\n"
        ",02/03/2025\n"
        "Trạm y tế thiếu thuốc,31/02/2025\n",
        encoding="utf-8",
    )
    ok, empty, bad_date = _read(path)
    assert isinstance(ok, Record)
    assert isinstance(empty, QuarantineRow) and empty.reason == "Dòng không có nội dung"
    assert empty.source_row == 3
    assert isinstance(bad_date, QuarantineRow) and "31/02/2025" in bad_date.reason
    assert bad_date.source_row == 4


def test_csv_without_a_text_column_names_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("Ý kiến cử tri,Ngày\nCần sửa cầu,01/01/2025\n", encoding="utf-8")
    (row,) = _read(path)
    assert isinstance(row, QuarantineRow)
    assert "Ý kiến cử tri" in row.reason and "--map" in row.reason
    (record,) = _read(path, mapping=parse_mapping(["Ý kiến cử tri=text"]))
    assert isinstance(record, Record) and record.text == "Cần sửa cầu"


def test_jsonl_bad_lines_are_quarantined_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "don.jsonl"
    lines = [
        json.dumps({"text": "Xin hỏi lịch tiêm phòng dại cho chó", "received_at": "2025-05-02"},
                   ensure_ascii=False),
        "{not json",
        json.dumps(["a", "list"]),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    record, broken, not_object = _read(path)
    assert isinstance(record, Record) and record.received_at == date(2025, 5, 2)
    assert isinstance(broken, QuarantineRow) and broken.source_row == 2
    assert "JSON" in broken.reason
    assert isinstance(not_object, QuarantineRow) and not_object.source_row == 3


def test_xlsx_with_title_block_and_excel_dates(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["SỔ THEO DÕI ĐƠN THƯ THÁNG 6/2025"])
    sheet.append([])
    sheet.append(["STT", "Ngày nhận", "Người gửi", "Địa chỉ", "Nội dung"])
    sheet.append([1, 45822, "Hồ Văn Lực", "thôn Tân Mỹ", "Xin cấp lại sổ hộ nghèo bị mất"])
    sheet.append([2, "15/06/2025", None, None, "Cống qua đường thôn 2 bị sập"])
    path = tmp_path / "so.xlsx"
    book.save(path)
    first, second = _read(path)
    assert isinstance(first, Record) and first.received_at == date(2025, 6, 14)
    assert first.source_row == 4 and first.sender_name == "Hồ Văn Lực"
    assert isinstance(second, Record) and second.received_at == date(2025, 6, 15)


def test_broken_xlsx_and_unknown_files_are_quarantined(tmp_path: Path) -> None:
    broken = tmp_path / "hong.xlsx"
    broken.write_bytes(b"PK\x03\x04 this is not a workbook")
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    (tmp_path / "gia.docx").write_text("không phải tệp Word", encoding="utf-8")
    (tmp_path / "hong.docx").write_bytes(b"PK\x03\x04 junk")
    (tmp_path / "tot.csv").write_text("Nội dung\nCầu treo bản Lìn bị gãy\n", encoding="utf-8")
    rows = list(Ingestor().read_paths([tmp_path]))
    reasons = {Path(r.source_file).name: r.reason for r in rows if isinstance(r, QuarantineRow)}
    assert "XLSX bị hỏng" in reasons["hong.xlsx"]
    assert "DOCX bị hỏng" in reasons["gia.docx"] and "DOCX bị hỏng" in reasons["hong.docx"]
    assert any(isinstance(r, Record) and "Cầu treo" in r.text for r in rows)
    assert "Không hỗ trợ" in reasons["scan.pdf"]


def test_binary_file_named_csv_is_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "rac.csv"
    path.write_bytes(bytes(range(256)) * 4)
    (row,) = _read(path)
    assert isinstance(row, QuarantineRow) and "Không đọc được chữ" in row.reason


def test_txt_petition_is_one_record(tmp_path: Path) -> None:
    path = tmp_path / "don.txt"
    path.write_text(
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\n"
        "ĐƠN KHIẾU NẠI\nKính gửi: UBND xã Vĩnh Giang\n"
        "Tôi tên là Phan Văn Út, trú tại thôn Tân Mỹ. Tôi khiếu nại việc bồi thường đất.\n"
        "Vĩnh Giang, ngày 3 tháng 4 năm 2025\n",
        encoding="utf-8",
    )
    (record,) = _read(path)
    assert isinstance(record, Record)
    assert record.source_type == "complaint"
    assert record.received_at == date(2025, 4, 3)
