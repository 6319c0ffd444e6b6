"""The tamtu command speaks Vietnamese: help pages, framework errors, dates, data mistakes."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from openpyxl import Workbook
from rich.console import Console
from typer.testing import CliRunner

from api.cli import app
from api.cli_progress import IngestTracker, estimate_records, ingest_bar
from pipeline.config import get_settings
from pipeline.records import QuarantineRow

runner = CliRunner()


def tamtu(args: list[str]) -> Any:
    """Run the command as a user types it (the program is called tamtu)."""
    return runner.invoke(app, args, prog_name="tamtu")
ENGLISH = ("Usage", "Options", "Arguments", "Commands", "Error", "Try ", "Missing", "No such",
           "Invalid value", "Show this message", "required", "default:", "Got unexpected")


@pytest.fixture
def env(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TAMTU_DATABASE_URL", db_url)
    monkeypatch.setenv("TAMTU_RUNS_DIR", str(tmp_path / "runs"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.fixture
def june(env: Path) -> Path:
    """A database holding petitions of June 2025 in two villages of one commune."""
    rows = ["Ngày tiếp nhận,Họ tên,Địa chỉ,Nội dung đơn"]
    for i in range(24):
        village = "thôn Phúc Lâm" if i % 2 else "thôn 5"
        rows.append(f"{1 + i:02d}/06/2025,Người {i},\"{village}, xã Vĩnh Giang\","
                    f"Đường bê tông đoạn số {i} ở {village} bị nứt và sụt lún sau mưa")
    (env / "thang6.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = tamtu(["ingest", str(env / "thang6.csv"), "--json"])
    assert result.exit_code == 0, result.output
    return env


def _no_english(text: str) -> None:
    assert [word for word in ENGLISH if word in text] == []


def test_tamtu_alone_prints_the_daily_commands() -> None:
    result = tamtu([])
    assert result.exit_code == 0, result.output
    assert "Việc hằng ngày" in result.output
    for command in ("tamtu ingest", "tamtu hotspots", "tamtu report --month 06/2025"):
        assert command in result.output
    _no_english(result.output)


@pytest.mark.parametrize("args", [["--help"], ["ingest", "--help"], ["report", "--help"],
                                  ["alerts", "--help"], ["alerts", "ack", "--help"], ["users"]])
def test_help_pages_are_in_vietnamese(args: list[str]) -> None:
    result = tamtu(args)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Cách dùng: tamtu {' '.join(a for a in args if a[0] != '-')}"
                                    .rstrip() + " ")
    assert "Tùy chọn" in result.output and "Hiện hướng dẫn này rồi thoát." in result.output
    _no_english(result.output)


def test_help_names_values_arguments_defaults_and_what_is_required() -> None:
    ingest = tamtu(["ingest", "--help"]).output
    assert "Cách dùng: tamtu ingest [TÙY CHỌN] PATHS..." in ingest
    assert "Đối số" in ingest and "[bắt buộc]" in ingest
    report = tamtu(["report", "--help"]).output
    assert "THÁNG" in report and "mm/yyyy" in report and "[mặc định: bao-cao.docx]" in report
    top = tamtu(["--help"]).output
    assert "Lệnh" in top and "rebuild-clusters" in top


@pytest.mark.parametrize(("args", "words"), [
    (["report", "--mont", "06/2025"], "không có tùy chọn --mont; có phải ý là --month"),
    (["report"], "thiếu tùy chọn --month (Tháng báo cáo mm/yyyy"),
    (["ingest"], "thiếu đối số PATHS (Tệp hoặc thư mục cần đọc)"),
    (["trends", "--limit", "abc"], "giá trị không hợp lệ cho --limit: 'abc' không phải là một "
                                   "số nguyên"),
    (["trends", "--limit", "0"], "giá trị không hợp lệ cho --limit: '0' phải từ 1 trở lên"),
    (["hotspots", "--as-of"], "tùy chọn --as-of cần một giá trị"),
    (["repot"], "không có lệnh 'repot'; có phải ý là report?"),
    (["alerts", "xem"], "không có lệnh 'xem'; xem các lệnh: tamtu alerts --help"),
    (["trends", "thôn", "5"], "thừa đối số: thôn 5"),
    (["trends", "--from", "32/01/2025"], "--from: ngày '32/01/2025' không tồn tại"),
    (["trends", "--from", "30/06/2025", "--to", "01/06/2025"],
     "--from 30/06/2025 sau --to 01/06/2025"),
    (["report", "--month", "13/2025"], "--month: tháng '13/2025' không đúng dạng"),
])
def test_usage_mistakes_are_one_vietnamese_line_and_exit_2(args: list[str], words: str) -> None:
    result = tamtu(args)
    assert result.exit_code == 2, result.output
    first, *rest = result.output.splitlines()
    assert first == f"Lỗi: {first[5:]}" and words in first
    assert all(line.startswith(("Cách dùng: tamtu", "Xem hướng dẫn: tamtu")) for line in rest)
    _no_english(result.output)


@pytest.mark.parametrize(("args", "words"), [
    (["trends", "--area", "Xóm Không Có"], "không có đơn nào ở địa bàn 'Xóm Không Có'"),
    (["hotspots", "--area", "Xóm Không Có"], "không có đơn nào ở địa bàn 'Xóm Không Có'"),
    (["report", "--month", "06/2025", "--area", "Xóm Không Có"],
     "không có đơn nào ở địa bàn 'Xóm Không Có'"),
    (["trends", "--from", "01/01/2999"], "--from: ngày 01/01/2999 chưa đến"),
    (["hotspots", "--as-of", "01/01/2999"], "--as-of: ngày 01/01/2999 chưa đến"),
    (["alerts", "run", "--as-of", "01/01/2999"], "--as-of: ngày 01/01/2999 chưa đến"),
    (["report", "--month", "01/2999"], "tháng 01/2999 chưa đến"),
    (["trends", "--from", "01/01/2024", "--to", "31/01/2024"],
     "không có đơn nào từ 01/01/2024 đến 31/01/2024; dữ liệu hiện có từ 01/06/2025 đến "
     "24/06/2025"),
    (["hotspots", "--as-of", "15/03/2025"], "không có đơn nào trong 7 ngày đến hết ngày "
                                            "15/03/2025"),
    (["report", "--month", "03/2025"], "tháng 03/2025 không có dữ liệu; dữ liệu hiện có từ "
                                       "01/06/2025"),
])
def test_data_mistakes_say_so_in_one_line_and_exit_1(june: Path, args: list[str],
                                                      words: str) -> None:
    result = tamtu(args)
    assert result.exit_code == 1, result.output
    (line,) = result.output.splitlines()
    assert line.startswith("Lỗi: ") and words in line


def test_an_empty_answer_inside_the_data_warns_with_the_reason(june: Path) -> None:
    result = tamtu(["trends", "--topic", "religion", "--area", "Phúc Lâm"])
    assert result.exit_code == 0, result.output
    assert ("Lưu ý: không có đơn nào khớp (lĩnh vực religion, địa bàn Phúc Lâm); dữ liệu hiện "
            "có từ 01/06/2025 đến 24/06/2025") in result.output
    quiet = tamtu(["hotspots", "--as-of", "24/06/2025", "--area", "thôn 5"])
    assert quiet.exit_code == 0, quiet.output
    assert "Lưu ý: không có điểm nóng nào ở thôn 5 tính đến ngày 24/06/2025" in quiet.output


def test_days_are_read_day_first_or_iso_alike(june: Path) -> None:
    written = tamtu(["trends", "--from", "01/06/2025", "--to", "10/06/2025",
                                  "--period", "day", "--json"])
    iso = tamtu(["trends", "--from", "2025-06-01", "--to", "2025-06-10",
                              "--period", "day", "--json"])
    assert written.exit_code == 0, written.output
    rows = json.loads(written.output)
    assert rows == json.loads(iso.output)
    assert sum(r["count"] for r in rows) == 10
    assert tamtu(["hotspots", "--as-of", "20/06/2025"]).exit_code == 0


def test_report_takes_the_month_and_the_signing_day_as_written(june: Path) -> None:
    out = june / "bc.docx"
    result = tamtu(["report", "--month", "06/2025", "--date", "05/07/2025",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    texts = [p.text for t in Document(str(out)).tables for c in t._cells for p in c.paragraphs]
    assert any("ngày 05 tháng 7 năm 2025" in text for text in texts)
    empty = tamtu(["report", "--month", "06/2025", "--area", "thôn 5", "--out",
                                str(june / "b2.docx")])
    assert empty.exit_code == 0 and "Lưu ý" not in empty.output


def test_ingest_total_is_estimated_per_file_cheaply(tmp_path: Path) -> None:
    csv = tmp_path / "a.csv"
    csv.write_text("Nội dung\nmột\nhai\nba", encoding="utf-8")
    assert estimate_records(csv) == 3
    book = Workbook()
    sheet = book.active
    for row in (["Nội dung"], ["một"], ["hai"]):
        sheet.append(row)
    book.save(tmp_path / "b.xlsx")
    assert estimate_records(tmp_path / "b.xlsx") == 2
    assert estimate_records(tmp_path / "c.docx") is None


def test_ingest_bar_shows_the_file_the_count_of_the_total_and_time_left(tmp_path: Path) -> None:
    first, second = tmp_path / "thang5.csv", tmp_path / "thang6.csv"
    first.write_text("Nội dung\n" + "đơn\n" * 4, encoding="utf-8")
    second.write_text("Nội dung\n" + "đơn\n" * 6, encoding="utf-8")
    screen = Console(file=io.StringIO(), width=160, force_terminal=False, record=True)
    with ingest_bar(screen, disable=False) as bar:
        tracker = IngestTracker(bar, [tmp_path])
        items = [QuarantineRow(str(first), n, "x") for n in range(4)]
        items += [QuarantineRow(str(second), n, "x") for n in range(3)]
        seen = list(tracker.watch(items))
        tracker.advance(7)
        screen.print(bar.make_tasks_table(bar.tasks))
    assert seen == items
    (line,) = [t for t in screen.export_text().splitlines() if "Đang đọc" in t]
    assert "Đang đọc thang6.csv (tệp 2/2)" in line and "7/10 bản ghi" in line and "còn " in line
