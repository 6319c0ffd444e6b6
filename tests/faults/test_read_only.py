"""Probe 13: a database on a read-only file system serves reads and refuses writes in one line."""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path

import pytest

from pipeline.records import Record
from pipeline.run import IngestRun
from pipeline.store import PetitionStore, create_db_engine, migrate
from tests.faults.helpers import (
    TAMTU,
    assert_no_personal_data,
    environment,
    namespace_command,
    write_petitions,
)

pytestmark = pytest.mark.fault

# In a private mount namespace: the folder becomes a read-only bind mount of itself (as on a
# read-only share or a copy on a write-protected disk), then a read and a write are tried.
SCRIPT = """
set -e
mount --bind "$1" "$1"
mount -o remount,bind,ro "$1"
set +e
"$2" trends --period month --level all --json > "$3/trends.out" 2> "$3/trends.err"
echo $? > "$3/trends.rc"
"$2" ingest "$4" > "$3/ingest.out" 2> "$3/ingest.err"
echo $? > "$3/ingest.rc"
"""


def test_a_read_only_database_serves_reads_and_refuses_writes(tmp_path: Path) -> None:
    prefix = namespace_command()
    if prefix is None:
        pytest.skip("no private mount namespace here (unshare refused): cannot make a "
                    "read-only file system")
    folder = tmp_path / "chi-doc"
    folder.mkdir()
    url = f"sqlite:///{folder / 'tamtu.db'}"
    engine = create_db_engine(url)
    migrate(engine)
    IngestRun(PetitionStore(engine), runs_dir=tmp_path / "runs").ingest_items([
        Record(text=f"Đường liên thôn Tân Mỹ sạt lở đoạn {n}", source_file="so-don",
               source_row=n, area="thôn Tân Mỹ, xã Vĩnh Giang", received_at=date(2025, 6, 2 + n))
        for n in range(5)
    ])
    engine.dispose()
    source = write_petitions(tmp_path / "don.csv", 3)
    out = tmp_path / "out"
    out.mkdir()
    done = subprocess.run(
        [*prefix, "sh", "-c", SCRIPT, "sh", str(folder), TAMTU, str(out), str(source)],
        env=environment(url, tmp_path / "runs"), capture_output=True, text=True, timeout=300,
        check=False)
    if done.returncode != 0:
        pytest.skip(f"a read-only bind mount is refused here: {done.stderr.strip()[-300:]}")

    def result(name: str) -> tuple[int, str, str]:
        return (int((out / f"{name}.rc").read_text()), (out / f"{name}.out").read_text(),
                (out / f"{name}.err").read_text())

    code, printed, errors = result("trends")
    assert code == 0, errors
    rows = json.loads(printed)
    assert [(row["area"], row["count"]) for row in rows] == [("tất cả", 5)], printed[:500]
    code, _, errors = result("ingest")
    assert code == 1
    assert "chỉ cho phép đọc" in errors and len(errors.strip().splitlines()) == 1
    assert_no_personal_data(errors)
