"""A whole ingest run on both databases: exact accounting, idempotency, duplicates, quarantine."""

from __future__ import annotations

import csv
from pathlib import Path

from pipeline.run import IngestRun
from pipeline.store import PetitionStore

HEADER = "Ngày nhận,Người gửi,Địa chỉ,Nội dung\n"


def _write(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def test_accounting_duplicates_and_quarantine(store: PetitionStore, tmp_path: Path) -> None:
    path = _write(tmp_path / "thang6.csv", [
        "01/06/2025,Lê Văn A,thôn Tân Mỹ,Nước thải trại heo chảy ra mương thôn",
        "02/06/2025,Lê Văn A,thôn Tân Mỹ,Nước thải trại heo chảy ra mương thôn",  # same sender
        "02/06/2025,Trần Thị B,thôn Tân Mỹ,Nước thải trại heo chảy ra mương thôn",  # other sender
        "03/06/2025,,thôn 5,Đèn đường hỏng",
        "03/06/2025,,thôn 5,Đèn  đường hỏng",  # same text after whitespace normalisation
        "31/06/2025,,thôn 5,Ngày không tồn tại",
        "04/06/2025,,thôn 5,",
    ])
    runner = IngestRun(store, runs_dir=tmp_path / "runs", batch_size=3)
    report = runner.ingest_paths([path])
    assert (report.read, report.stored, report.duplicates, report.quarantined) == (7, 3, 2, 2)
    assert report.read == report.stored + report.duplicates + report.quarantined
    assert store.count_petitions() == 3
    assert report.quarantine_csv is not None
    with open(report.quarantine_csv, encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["dòng"] for r in rows} == {"7", "8"}
    assert any("31/06/2025" in r["lý do"] for r in rows)


def test_reingesting_the_same_file_stores_nothing_new(store: PetitionStore, tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", [
        "01/06/2025,,thôn 1,Cầu treo bản Khe Sanh bị gãy ván",
        "01/06/2025,,thôn 1,",
    ])
    runner = IngestRun(store, runs_dir=tmp_path / "runs")
    first = runner.ingest_paths([path])
    second = IngestRun(store, runs_dir=tmp_path / "runs").ingest_paths([path])
    assert (first.stored, first.quarantined) == (1, 1)
    assert (second.read, second.stored, second.duplicates, second.quarantined) == (2, 0, 1, 1)
    assert second.already_ingested == 1
    assert store.count_petitions() == 1
    assert len(store.quarantine_rows()) == 1


def test_duplicates_link_to_their_first_copy(store: PetitionStore, tmp_path: Path) -> None:
    a = _write(tmp_path / "a.csv", ["01/06/2025,,thôn 1,Xin sửa lại con đường liên thôn"])
    b = _write(tmp_path / "b.csv", ["09/06/2025,,thôn 1,Xin sửa lại con đường liên thôn"])
    runner = IngestRun(store, runs_dir=tmp_path / "runs")
    runner.ingest_paths([a])
    report = runner.ingest_paths([b])
    assert (report.stored, report.duplicates, report.already_ingested) == (0, 1, 0)
    (row,) = store.petition_frame_rows()
    (link,) = store.duplicate_rows(row["id"])
    assert link["source_file"].endswith("b.csv")


def test_place_and_flags_are_stored(store: PetitionStore, tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", [
        "01/06/2025,,\"thôn Tân Mỹ, xã Vĩnh Giang, huyện Vĩnh Linh, tỉnh Quảng Trị\","
        "Nhieu ho dan keo den xa phan doi viec thu hoi dat",
        "01/06/2025,,,Bà con thôn Hà Lợi phản ánh mùi hôi từ bãi rác",
    ])
    IngestRun(store, runs_dir=tmp_path / "runs").ingest_paths([path])
    first, second = store.petition_frame_rows()
    # A district-era address: xã Vĩnh Giang (huyện Vĩnh Linh) is part of xã Cửa Tùng since 2025.
    assert first["area"] == "thôn Tân Mỹ, xã Cửa Tùng, tỉnh Quảng Trị"
    assert "mass" in first["signals"]
    assert second["area"] == "thôn Hà Lợi"
