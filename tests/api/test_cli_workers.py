"""`tamtu ingest --workers N` and `--dask ADDRESS` as a user runs them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from pipeline.config import get_settings
from tests.pipeline.test_executors import HEADER, ROWS, stored_rows

runner = CliRunner()


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Batches of 3 so that a 15-row file is five chunks spread over the workers.
    monkeypatch.setenv("TAMTU_BATCH_SIZE", "3")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _ingest(tmp_path: Path, name: str, csv_path: Path, *options: str,
            monkeypatch: pytest.MonkeyPatch) -> tuple[dict, str]:  # type: ignore[type-arg]
    url = f"sqlite:///{tmp_path / (name + '.db')}"
    monkeypatch.setenv("TAMTU_DATABASE_URL", url)
    monkeypatch.setenv("TAMTU_RUNS_DIR", str(tmp_path / f"runs-{name}"))
    get_settings.cache_clear()
    result = runner.invoke(app, ["ingest", str(csv_path), "--json", *options])
    assert result.exit_code == 0, result.output
    return json.loads(result.output), url


def test_two_workers_store_the_same_rows_as_one(
    tmp_path: Path, small_batches: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import csv

    path = tmp_path / "thang3.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *ROWS])
    one, one_url = _ingest(tmp_path, "one", path, "--workers", "1", monkeypatch=monkeypatch)
    two, two_url = _ingest(tmp_path, "two", path, "--workers", "2", monkeypatch=monkeypatch)
    keys = ("read", "stored", "duplicates", "quarantined", "by_topic", "by_area")
    assert {k: one[k] for k in keys} == {k: two[k] for k in keys}
    assert (two["read"], two["stored"], two["quarantined"]) == (15, 11, 2)
    assert stored_rows(one_url) == stored_rows(two_url)


def test_no_worker_at_all_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("Nội dung\nĐường ngập\n", encoding="utf-8")
    result = runner.invoke(app, ["ingest", str(tmp_path / "a.csv"), "--workers", "0"])
    assert result.exit_code == 2
    assert "--workers phải từ 1 trở lên" in result.output


def test_an_unreachable_dask_scheduler_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAMTU_DATABASE_URL", f"sqlite:///{tmp_path / 'd.db'}")
    monkeypatch.setenv("TAMTU_DASK_ADDRESS", "tcp://127.0.0.1:9")
    monkeypatch.setenv("TAMTU_DASK_CONNECT_TIMEOUT", "2")
    get_settings.cache_clear()
    (tmp_path / "a.csv").write_text("Nội dung\nĐường ngập\n", encoding="utf-8")
    try:
        result = runner.invoke(app, ["ingest", str(tmp_path / "a.csv")])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "không kết nối được bộ điều phối Dask tại 'tcp://127.0.0.1:9'" in result.output
