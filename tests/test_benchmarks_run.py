"""Smoke runs of the benchmark scripts: they finish and print their tables (figures unchecked)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = PROJECT_ROOT / "benchmarks"
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "benchmarks"
MODEL = PROJECT_ROOT / "models" / "artifacts" / "topic_model.skops"

SPEED_HEADINGS = (
    "## Classifier benchmarks",
    "| section | figure | value | goal | met |",
    "classification after tokenisation (warm cache), texts/s",
    "model load, load_classifier in a fresh process",
    "model file size",
)
DATA_HEADINGS = (
    "UIT-VSFC topic",
    "UIT-VSFC sentiment",
    "training time, `tamtu train` wall clock",
    "macro F1",
    "### UIT-VSFC test split vs published results (percent)",
    "vn-news baomoi (silver title labels)",
    "`none` articles kept free of land/environment/religion/policy",
    "`an-ninh-xa-hoi` articles predicted `security`",
)
THROUGHPUT_HEADINGS = (
    "## Throughput: non-repeating petitions, every executor",
    "| stage | petitions/s | slowest pass | passes (s) |",
    "bare underthesea.word_tokenize, per text",
    "ingest, 1 process, sentence cache off",
    "ingest, 2 worker processes, cache on",
    "ingest on Dask LocalCluster, 2 workers, cache on",
    "`tamtu classify \"…\"` start-up (s):",
    "| ratio | value | goal | met |",
)


def _run(
    script: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # The default model path comes from the settings; pin it so a local .env cannot move it.
    environment = {**os.environ, "TAMTU_MODEL_PATH": str(MODEL), **(env or {})}
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args], cwd=PROJECT_ROOT, env=environment,
        capture_output=True, text=True, timeout=900, check=False,
    )


def _missing(output: str, headings: tuple[str, ...]) -> list[str]:
    return [heading for heading in headings if heading not in output]


def test_classify_benchmark_prints_its_table() -> None:
    done = _run("classify.py", "--limit", "24")
    assert done.returncode == 0, done.stderr
    if SHARED_DATA.is_dir():
        assert _missing(done.stdout, SPEED_HEADINGS + DATA_HEADINGS) == []
        assert "benchmark data not found" not in done.stdout
    else:
        assert "benchmark data not found" in done.stdout
        assert _missing(done.stdout, SPEED_HEADINGS) == []


def test_classify_benchmark_without_data_says_so_and_exits_zero(tmp_path: Path) -> None:
    absent = tmp_path / "no-benchmarks-here"
    done = _run("classify.py", "--limit", "20", env={"TAMTU_BENCHMARKS_DIR": str(absent)})
    assert done.returncode == 0, done.stderr
    assert f"benchmark data not found: {absent}" in done.stdout
    assert _missing(done.stdout, SPEED_HEADINGS) == []
    assert _missing(done.stdout, DATA_HEADINGS) == list(DATA_HEADINGS)


def test_throughput_benchmark_prints_its_tables() -> None:
    done = _run("throughput.py", "--limit", "30", "--rounds", "1")
    assert done.returncode == 0, done.stderr
    assert _missing(done.stdout, THROUGHPUT_HEADINGS) == []
    assert "30 petitions written combinatorially" in done.stdout
    # Every ingest stage read and stored every petition: the texts never repeat.
    assert done.stdout.count("read 30 = stored 30 + duplicates 0 + quarantined 0") == 7

