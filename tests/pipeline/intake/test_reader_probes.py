"""Probes of bad and unusual files: the bad row is quarantined, good rows are stored exactly."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import tracemalloc
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest
import sqlalchemy as sa

from pipeline.intake.readers import Ingestor, ReadLimits
from pipeline.records import QuarantineRow, Record, SkippedFile
from pipeline.run import IngestRun
from pipeline.store import PetitionStore, ingest_runs, petitions
from tests.pipeline.intake.test_readers import _to_cp1258

QUOTED = 'Cán bộ nói "không có tiền" rồi bỏ về, đề nghị xem xét thái độ cán bộ.'


def _read(path: Path, **kwargs: object) -> list[Record | QuarantineRow]:
    return list(Ingestor(**kwargs).read_paths([path]))  # type: ignore[arg-type]


def _records(items: list[Record | QuarantineRow]) -> list[Record]:
    return [item for item in items if isinstance(item, Record)]


def _quarantined(items: list[Record | QuarantineRow]) -> list[QuarantineRow]:
    return [item for item in items if isinstance(item, QuarantineRow)]


def _csv_bytes(rows: list[list[str]], delimiter: str = ",", quoting: int = csv.QUOTE_MINIMAL
               ) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, quoting=quoting).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _tricky_rows(count: int) -> list[list[str]]:
    rng = random.Random(11)
    pieces = ['"', '""', ",", ";", "\t", "\n", "\r\n", "'", "“trích”", " - ", "…"]
    rows = []
    for i in range(count):
        text = f"Phản ánh số {i}: đường thôn {i % 7} ngập" + "".join(
            rng.choice(pieces) + f"đoạn {j}" for j in range(rng.randint(0, 4))
        ) + ("" if i % 50 else ', cán bộ nói "về đi",\nrồi đi')
        rows.append([f"0{1 + i % 9}/06/2025", f"thôn {i % 7}, xã Vĩnh Giang", text,
                     f'Ghi chú "{i}", chuyển, tổ ""{i % 3}""', f'Lê Văn "Tư", {i}'])
    return rows


# ---------------------------------------------------------------------- probe 6: RFC 4180
@pytest.mark.parametrize(("quoting", "position"), [
    (csv.QUOTE_ALL, 5), (csv.QUOTE_ALL, 1500), (csv.QUOTE_NONNUMERIC, 150),
    (csv.QUOTE_MINIMAL, 1500),
])
def test_doubled_quotes_are_escapes_not_the_end_of_the_cell(
    tmp_path: Path, quoting: int, position: int
) -> None:
    # About 1 % of real rows carry quotes; a sniffed dialect took "" for the end of the cell
    # whenever the sample it looked at had quoted cells but no doubled quote.
    path = tmp_path / "quotes.csv"
    rows = [["Ngày nhận", "Người gửi", "Địa chỉ", "Nội dung"]]
    rows += [[f"0{1 + i % 9}/06/2025", f"Người {i}", "thôn Tân Mỹ",
              f"Đường thôn {i} bị sụt lún đề nghị sửa"] for i in range(2000)]
    rows[position + 1][3] = QUOTED
    path.write_bytes(_csv_bytes(rows, quoting=quoting))
    items = _read(path)
    assert not _quarantined(items)
    records = _records(items)
    assert len(records) == 2000 and records[position].text == QUOTED
    assert records[position].source_row == position + 2
    assert all("columns" not in r.extra for r in records)


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_quotes_commas_and_line_breaks_in_cells_round_trip_exactly(
    tmp_path: Path, delimiter: str
) -> None:
    header = ["Ngày nhận", "Địa chỉ", "Nội dung", "Ghi chú", "Người gửi"]
    rows = _tricky_rows(300)
    path = tmp_path / ("tricky.tsv" if delimiter == "\t" else "tricky.csv")
    path.write_bytes(_csv_bytes([header, *rows], delimiter))
    items = _read(path)
    assert not _quarantined(items)
    records = _records(items)
    assert [(r.received_at.strftime("%d/%m/%Y") if r.received_at else None, r.area, r.text,
             r.extra["columns"]["Ghi chú"], r.sender_name) for r in records] == [
        tuple(row) for row in rows]
    assert any("\n" in row[2] and '"' in row[2] and "," in row[2] for row in rows)


def test_sniffing_is_only_a_fallback_checked_against_the_header(tmp_path: Path) -> None:
    path = tmp_path / "pipes.csv"
    path.write_text("Ngày nhận|Nội dung|Địa chỉ\n01/06/2025|Cống bị tắc, nước tràn|thôn 1\n"
                    "02/06/2025|Xin lắp đèn; đường tối|thôn 2\n", encoding="utf-8")
    records = _records(_read(path))
    assert [(r.text, r.area) for r in records] == [
        ("Cống bị tắc, nước tràn", "thôn 1"), ("Xin lắp đèn; đường tối", "thôn 2")]


def test_a_row_wider_than_the_header_is_quarantined_not_spilled(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text('Nội dung,Địa chỉ\n"Đường hỏng",thôn 1\n"Cán bộ nói "không" rồi về",thôn 2,x\n'
                    "Cầu yếu,thôn 3\n", encoding="utf-8")
    items = _read(path)
    assert [r.text for r in _records(items)] == ["Đường hỏng", "Cầu yếu"]
    (bad,) = _quarantined(items)
    assert bad.source_row == 3 and "lệch cột" in bad.reason


# ---------------------------------------------------------------------- probe 7: NUL bytes
def test_a_nul_byte_quarantines_its_row_only(store: PetitionStore, tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes("Nội dung,Địa chỉ\nĐường thôn 1 bị sụt,thôn 1\n".encode()
                     + "Cống thôn 2 \x00bị tắc,thôn 2\nĐèn thôn 3 hỏng,thôn 3\n".encode())
    report = IngestRun(store, runs_dir=tmp_path / "runs").ingest_paths([path])
    assert (report.read, report.stored, report.duplicates, report.quarantined) == (3, 2, 0, 1)
    (row,) = store.quarantine_rows()
    assert row["source_row"] == 3 and "NUL" in row["reason"]


def test_jsonl_line_with_a_nul_byte_is_quarantined_alone(tmp_path: Path) -> None:
    path = tmp_path / "nul.jsonl"
    path.write_bytes(b'{"text": "\xc4\x90\xc6\xb0\xe1\xbb\x9dng h\xe1\xbb\x8fng"}\n'
                     b'{"text": "c\x00ng"}\n{"text": "C\xe1\xba\xa7u y\xe1\xba\xbfu"}\n')
    items = _read(path)
    assert [r.text for r in _records(items)] == ["Đường hỏng", "Cầu yếu"]
    assert [(q.source_row, "NUL" in q.reason) for q in _quarantined(items)] == [(2, True)]


# ---------------------------------------------------------------------- probe 8: huge cells
def test_a_five_megabyte_cell_quarantines_its_row_and_the_run_finishes(
    store: PetitionStore, tmp_path: Path
) -> None:
    path = tmp_path / "big.csv"
    huge = "Nội dung rất dài " * (5 * 1024 * 1024 // 17)
    path.write_bytes(_csv_bytes([["Nội dung", "Địa chỉ"], ["Đường hỏng", "thôn 1"],
                                 [huge, "thôn 2"], ["Cầu yếu", "thôn 3"]]))
    report = IngestRun(store, runs_dir=tmp_path / "runs").ingest_paths([path])
    assert (report.read, report.stored, report.quarantined) == (3, 2, 1)
    (row,) = store.quarantine_rows()
    assert row["source_row"] == 3 and "vượt giới hạn 100.000 ký tự" in row["reason"]
    assert len(row["raw"]) < 10_000
    with store.engine.connect() as conn:
        texts = set(conn.execute(sa.select(petitions.c.text)).scalars())
        finished = conn.execute(sa.select(ingest_runs.c.finished_at)).scalar_one()
    assert texts == {"Đường hỏng", "Cầu yếu"} and finished is not None


def test_cell_and_file_limits_are_configurable(tmp_path: Path) -> None:
    path = tmp_path / "limits.csv"
    path.write_text("Nội dung,Người gửi\nĐường hỏng,Lê Văn Tám\n" + "Cầu yếu " * 10 + ",A\n",
                    encoding="utf-8")
    items = _read(path, limits=ReadLimits(cell_chars=40))
    assert [r.text for r in _records(items)] == ["Đường hỏng"]
    assert "Ô 'Nội dung' dài 80 ký tự, vượt giới hạn 40" in _quarantined(items)[0].reason
    (whole,) = _read(path, limits=ReadLimits(file_bytes=50))
    assert isinstance(whole, QuarantineRow) and whole.source_row is None
    assert "vượt giới hạn" in whole.reason and "TAMTU_MAX_FILE_BYTES" in whole.reason


# ---------------------------------------------------------------------- probe 9: encodings
def test_rows_in_another_encoding_are_decoded_row_by_row(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        "Nội dung,Địa chỉ\nĐường thôn bị ngập,thôn Tân Mỹ\n".encode()
        + _to_cp1258("Đề nghị sửa cầu treo,thôn Gio Mỹ\n")
        + bytes(range(0x80, 0x100)) + b",x\n"
        + "Cống thoát nước bị tắc,thôn Tân Mỹ\n".encode()
    )
    items = _read(path)
    assert [(r.text, r.area) for r in _records(items)] == [
        ("Đường thôn bị ngập", "thôn Tân Mỹ"), ("Đề nghị sửa cầu treo", "thôn Gio Mỹ"),
        ("Cống thoát nước bị tắc", "thôn Tân Mỹ")]
    (bad,) = _quarantined(items)
    assert bad.source_row == 4 and "Không đọc được chữ ở dòng này" in bad.reason


def test_a_file_in_one_legacy_encoding_is_still_decoded_whole(tmp_path: Path) -> None:
    path = tmp_path / "cp1258.csv"
    path.write_bytes(_to_cp1258("Nội dung,Địa chỉ\nĐề nghị sửa cầu treo,thôn Gio Mỹ\n"))
    (record,) = _read(path)
    assert isinstance(record, Record) and record.text == "Đề nghị sửa cầu treo"


# ---------------------------------------------------------------------- probe 10: zip bombs
def _bomb(path: Path, template: Path, megabytes: int) -> None:
    """Copy an Office file and add a member of zeros that unpacks to ``megabytes`` MB."""
    with zipfile.ZipFile(template) as source, zipfile.ZipFile(
        path, "w", zipfile.ZIP_DEFLATED
    ) as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        with target.open("customXml/padding.xml", "w") as member:
            chunk = bytes(1 << 20)
            for _ in range(megabytes):
                member.write(chunk)


def test_xlsx_that_unpacks_past_the_limit_is_not_opened(tmp_path: Path) -> None:
    template = tmp_path / "good.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["Nội dung"])
    book.active.append(["Đường hỏng"])
    book.save(template)
    bomb = tmp_path / "bomb.xlsx"
    _bomb(bomb, template, 64)
    assert bomb.stat().st_size < 1_000_000
    tracemalloc.start()
    try:
        (row,) = _read(bomb, limits=ReadLimits(unpacked_bytes=32 * 1024 * 1024))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(row, QuarantineRow)
    assert "khi giải nén chiếm 64,0 MB, vượt giới hạn 32,0 MB" in row.reason
    assert peak < 4 * 1024 * 1024  # the zip directory is read, never the members
    (record,) = _read(template, limits=ReadLimits(unpacked_bytes=32 * 1024 * 1024))
    assert isinstance(record, Record) and record.text == "Đường hỏng"


def test_docx_that_unpacks_past_the_limit_is_not_opened(tmp_path: Path) -> None:
    template = tmp_path / "good.docx"
    document = docx.Document()
    document.add_paragraph("Kính gửi UBND xã. Đề nghị sửa đường thôn 3.")
    document.save(str(template))
    bomb = tmp_path / "bomb.docx"
    _bomb(bomb, template, 8)
    (row,) = _read(bomb, limits=ReadLimits(unpacked_bytes=4 * 1024 * 1024))
    assert isinstance(row, QuarantineRow) and "TAMTU_MAX_UNPACKED_BYTES" in row.reason
    (record,) = _read(template, limits=ReadLimits(unpacked_bytes=4 * 1024 * 1024))
    assert isinstance(record, Record) and "sửa đường thôn 3" in record.text


# ---------------------------------------------------------------------- probe 11: extras, skips
def test_extra_columns_are_kept_stored_and_counted(store: PetitionStore, tmp_path: Path) -> None:
    path = tmp_path / "extra.csv"
    path.write_text("Nội dung,CCCD người gửi,Ghi chú,\nĐường hỏng,038012345678,gấp,\n"
                    "Cầu yếu,038098765432,,z\nĐèn tắt,,,\n", encoding="utf-8")
    records = _records(_read(path))
    assert [r.extra.get("columns") for r in records] == [
        {"CCCD người gửi": "038012345678", "Ghi chú": "gấp"},
        {"CCCD người gửi": "038098765432", "cột 4": "z"}, None]
    report = IngestRun(store, runs_dir=tmp_path / "runs").ingest_paths([path])
    assert report.extra_columns == {"CCCD người gửi": 2, "Ghi chú": 1, "cột 4": 1}
    assert report.read == report.stored + report.duplicates + report.quarantined == 3
    with store.engine.connect() as conn:
        extras = list(conn.execute(sa.select(petitions.c.extra).order_by(petitions.c.id)).scalars())
    assert extras[0]["columns"]["CCCD người gửi"] == "038012345678"
    saved = json.loads(Path(report.report_dir or "", "report.json").read_text(encoding="utf-8"))
    assert saved["extra_columns"]["CCCD người gửi"] == 2


def test_jsonl_and_xlsx_keep_unknown_fields_too(tmp_path: Path) -> None:
    lines = tmp_path / "a.jsonl"
    lines.write_text(json.dumps({"text": "Đường hỏng", "so_ho": 12, "tag": ["a"]}) + "\n",
                     encoding="utf-8")
    (record,) = _read(lines)
    assert isinstance(record, Record) and record.extra["columns"] == {"so_ho": 12, "tag": ["a"]}
    sheet = tmp_path / "a.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["Nội dung", "Số hộ", "Hạn xử lý"])
    book.active.append(["Cầu yếu", 4.0, None])
    book.save(sheet)
    (record,) = _read(sheet)
    assert isinstance(record, Record) and record.extra["columns"] == {"Số hộ": 4}


def test_skipped_files_are_listed_with_the_reason(store: PetitionStore, tmp_path: Path) -> None:
    folder = tmp_path / "don"
    folder.mkdir()
    (folder / "tot.csv").write_text("Nội dung\nĐường hỏng\n", encoding="utf-8")
    (folder / "hong.csv").symlink_to(tmp_path / "khong-con.csv")
    (folder / "~$tot.xlsx").write_bytes(b"lock")
    (folder / ".ghi-chu.csv").write_text("Nội dung\nẩn\n", encoding="utf-8")
    (folder / ".git").mkdir()
    (folder / ".git" / "x.csv").write_text("Nội dung\nkhông đọc\n", encoding="utf-8")
    os.mkfifo(folder / "ong.csv")
    skipped: list[SkippedFile] = []
    items = list(Ingestor().read_paths([folder], skipped))
    assert [r.text for r in _records(items)] == ["Đường hỏng"]
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert set(reasons) == {".git", ".ghi-chu.csv", "hong.csv", "ong.csv", "~$tot.xlsx"}
    assert "Liên kết hỏng" in reasons["hong.csv"] and "khóa tạm" in reasons["~$tot.xlsx"]
    assert "Không phải tệp thông thường" in reasons["ong.csv"]
    (tmp_path / "lien-ket.csv").symlink_to(tmp_path / "mat.csv")
    report = IngestRun(store, runs_dir=tmp_path / "runs").ingest_paths(
        [folder, tmp_path / "lien-ket.csv"])
    assert (report.read, report.stored) == (1, 1)
    assert {Path(s["path"]).name for s in report.skipped_files} == {*reasons, "lien-ket.csv"}


def test_cli_lists_extra_columns_skipped_files_and_uses_the_configured_limits(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from api.cli import app
    from pipeline.config import get_settings

    monkeypatch.setenv("TAMTU_DATABASE_URL", db_url)
    monkeypatch.setenv("TAMTU_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("TAMTU_MAX_CELL_CHARS", "30")
    get_settings.cache_clear()
    folder = tmp_path / "don"
    folder.mkdir()
    (folder / "a.csv").write_text(
        "Nội dung,CCCD người gửi\nĐường hỏng,038012345678\n" + "Cầu yếu " * 5 + ",\n",
        encoding="utf-8")
    (folder / "b.csv").symlink_to(tmp_path / "da-xoa.csv")
    try:
        result = CliRunner().invoke(app, ["ingest", str(folder)])
        as_json = CliRunner().invoke(app, ["ingest", str(folder), "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "CCCD người gửi" in result.output
    assert f"Bỏ qua {folder / 'b.csv'}: Liên kết hỏng" in result.output
    assert ("Kiểm đếm: 2 đã đọc = 1 lưu mới (trong đó 0 trùng gần đúng) + 0 trùng lặp"
            " + 1 cách ly") in result.output
    report = json.loads(as_json.output)
    assert report["skipped_files"][0]["path"] == str(folder / "b.csv")
    assert report["extra_columns"] == {"CCCD người gửi": 1}


def test_kept_extra_columns_never_reach_an_analyst(tmp_path: Path, settings: object) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from pipeline.store import create_db_engine, migrate
    from tests.conftest import sign_in

    path = tmp_path / "cccd.csv"
    path.write_text("Nội dung,CCCD người gửi,Nơi làm việc\n"
                    "Đường thôn Tân Mỹ bị sụt lún,038012345678,Công ty Hoa Sen\n", encoding="utf-8")
    with TestClient(create_app(settings)) as client:  # type: ignore[arg-type]
        url = settings.database_url  # type: ignore[attr-defined]
        engine = create_db_engine(url)
        migrate(engine)
        report = IngestRun(PetitionStore(engine), runs_dir=tmp_path / "runs").ingest_paths([path])
        engine.dispose()
        assert report.extra_columns == {"CCCD người gửi": 1, "Nơi làm việc": 1}
        sign_in(client, url, "analyst")
        listed = client.get("/api/v1/petitions")
        (petition,) = listed.json()["data"]
        one = client.get(f"/api/v1/petitions/{petition['id']}")
        export = client.get("/api/v1/petitions", params={"format": "csv"})
    assert listed.status_code == one.status_code == export.status_code == 200
    assert "sụt lún" in export.text
    for body in (listed.text, one.text, export.text):
        assert "038012345678" not in body and "Hoa Sen" not in body
