"""Ingest under faults, with the real `tamtu ingest`: killed, run twice at once, disk full.

Every case ends with every row of the file stored exactly once, and no error output holds a
traceback or personal data.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.faults.helpers import (
    assert_no_personal_data,
    environment,
    ingest_command,
    namespace_command,
    run,
    run_statuses,
    stored_rows,
    write_petitions,
)

pytestmark = pytest.mark.fault


def _assert_each_row_once(database_url: str, count: int) -> None:
    rows = stored_rows(database_url)
    copies = Counter(external_id for external_id, _ in rows)
    assert sorted(copies) == [f"PA-{i:05d}" for i in range(count)]
    assert set(copies.values()) == {1}


def _stored_so_far(url: str) -> int:
    try:
        return len(stored_rows(url))
    except sa.exc.OperationalError:  # the database is still being created
        return 0


def test_kill_9_mid_ingest_then_run_again_stores_every_row_once(tmp_path: Path) -> None:
    count = 800
    source = write_petitions(tmp_path / "don.csv", count)
    url = f"sqlite:///{tmp_path / 'tamtu.db'}"
    env = environment(url, tmp_path / "runs")
    process = subprocess.Popen(ingest_command(source), env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while _stored_so_far(url) < 80:
            assert process.poll() is None, "the ingest ended before it could be killed"
            assert time.monotonic() < deadline, "the ingest stored nothing in time"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    partial = len(stored_rows(url))
    assert 80 <= partial < count

    again = run(ingest_command(source), env)
    assert again.returncode == 0, again.stderr[-2000:]
    _assert_each_row_once(url, count)
    report = json.loads(again.stdout)
    assert (report["read"], report["stored"], report["already_ingested"]) == (
        count, count - partial, partial)
    # Probe 14: the killed run is marked failed by the next ingest, not left unfinished.
    (killed_status, reason), (status, _) = run_statuses(url)
    assert (killed_status, status) == ("failed", "finished")
    assert reason is not None and "dừng giữa chừng" in reason


def test_two_ingests_of_the_same_file_at_once_store_every_row_once(tmp_path: Path) -> None:
    # Probe 5: on a new database, one of two runs used to die with IntegrityError and a
    # traceback quoting petitions.
    count = 300
    source = write_petitions(tmp_path / "don.csv", count)
    url = f"sqlite:///{tmp_path / 'tamtu.db'}"
    env = environment(url, tmp_path / "runs")
    first, second = (subprocess.Popen(ingest_command(source), env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True) for _ in range(2))
    outputs = [process.communicate(timeout=240) for process in (first, second)]
    for process, (_, err) in zip((first, second), outputs, strict=True):
        assert_no_personal_data(err)
        assert process.returncode == 0, err[-2000:]
    _assert_each_row_once(url, count)
    reports = [json.loads(out) for out, _ in outputs]
    assert sum(r["stored"] for r in reports) == count
    assert all(r["read"] == count for r in reports)
    assert [status for status, _ in run_statuses(url)] == ["finished", "finished"]


def test_a_full_disk_is_one_line_and_a_run_after_freeing_space_stores_every_row_once(
    tmp_path: Path,
) -> None:
    # Probe 5: a full disk used to print a traceback with petition texts and a sender.
    prefix = namespace_command()
    if prefix is None:
        pytest.skip("no private mount namespace here (unshare refused): cannot mount a small "
                    "tmpfs to fill")
    count = 600
    source = write_petitions(tmp_path / "don.csv", count)
    mount = tmp_path / "small"
    mount.mkdir()
    result = tmp_path / "result.json"
    env = environment(f"sqlite:///{mount / 'tamtu.db'}", tmp_path / "runs")
    driver = subprocess.run(
        [*prefix, sys.executable, "-m", "tests.faults.disk_full", str(mount), str(source),
         str(result)],
        env=env, capture_output=True, text=True, timeout=300, check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    if driver.returncode == 3:
        pytest.skip(f"tmpfs cannot be mounted here: {driver.stderr.strip()[-300:]}")
    assert driver.returncode == 0, driver.stderr[-2000:]
    outcome = json.loads(result.read_text(encoding="utf-8"))

    full = outcome["full"]
    assert full["returncode"] == 1
    assert_no_personal_data(full["stderr"])
    assert "ổ đĩa đã đầy" in full["stderr"]
    assert len(full["stderr"].strip().splitlines()) == 1, full["stderr"]
    assert 0 < outcome["stored_when_full"] < count

    freed = outcome["freed"]
    assert freed["returncode"] == 0, freed["stderr"][-2000:]
    rows = outcome["rows"]
    assert sorted(rows) == [f"PA-{i:05d}" for i in range(count)]
    assert outcome["statuses"] == ["failed", "finished"]
