"""Files that hold personal data are readable by their owner only: database, run reports."""

from __future__ import annotations

import stat
from pathlib import Path

from pipeline.records import QuarantineRow, Record
from pipeline.run import IngestRun
from pipeline.store import PetitionStore, create_db_engine, migrate


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_and_its_journal_are_private(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'tamtu.db'}")
    migrate(engine)
    store = PetitionStore(engine)
    with engine.connect():  # the journal exists while a connection is open
        IngestRun(store, runs_dir=tmp_path / "runs").ingest_items([
            Record(text="Ông Nguyễn Văn Hùng phản ánh đường thôn Tân Mỹ sạt lở",
                   source_file="so-don", source_row=1)])
        assert _mode(tmp_path / "tamtu.db") == 0o600
        assert _mode(tmp_path / "tamtu.db-wal") == 0o600
    engine.dispose()


def test_an_existing_database_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "chung.db"
    path.touch(mode=0o640)
    path.chmod(0o640)
    migrate(create_db_engine(f"sqlite:///{path}"))
    assert _mode(path) == 0o640


def test_run_reports_and_quarantined_rows_are_private(store: PetitionStore,
                                                      tmp_path: Path) -> None:
    report = IngestRun(store, runs_dir=tmp_path / "runs").ingest_items([
        Record(text="Đường thôn Tân Mỹ sạt lở", source_file="so-don", source_row=1),
        QuarantineRow("so-don", 2, "thiếu nội dung", "Nguyễn Thị Hoa, 0912 345 678"),
    ])
    assert report.report_dir is not None and report.quarantine_csv is not None
    assert _mode(Path(report.report_dir)) == 0o700
    assert _mode(Path(report.quarantine_csv)) == 0o600
    assert _mode(Path(report.report_dir) / "report.json") == 0o600
