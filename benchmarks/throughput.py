"""Throughput: petitions per second for tokenisation alone and for `tamtu ingest` end to end.

Every stage reads the SAME generated petitions (about 150 syllables each, built by joining texts
from the sample generator), written to one CSV first. Run from the project root:

    .venv/bin/python benchmarks/throughput.py              # 2,000 petitions, a few minutes
    .venv/bin/python benchmarks/throughput.py --limit 50   # smoke run
    .venv/bin/python benchmarks/throughput.py --json       # figures as JSON

It prints figures and ratios; it never asserts. Progress lines go to stderr.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
GENERATOR_PATH = PROJECT_ROOT / "data" / "samples" / "generate.py"
CSV_COLUMNS = ("text", "received_at", "area", "source_type", "external_id", "sender_name",
               "sender_contact", "channel")
TARGET_SYLLABLES = 150
RATIO_GOAL = 0.8


class GeneratorMissingError(RuntimeError):
    """The sample generator data/samples/generate.py is not in the project."""


@dataclass(frozen=True)
class Stage:
    """One timed pass over the petitions."""

    key: str
    name: str
    meaning: str
    seconds: float
    petitions: int
    passes: tuple[float, ...] = ()

    @property
    def per_second(self) -> float:
        """Petitions per second of the (fastest) pass."""
        return self.petitions / self.seconds if self.seconds > 0 else float("inf")

    def slowest_per_second(self) -> float:
        """Petitions per second of the slowest pass (equal to per_second for one pass)."""
        slowest = max(self.passes or (self.seconds,))
        return self.petitions / slowest if slowest > 0 else float("inf")


def fastest(stages: list[Stage]) -> Stage:
    """Return the fastest of repeated passes, remembering the seconds of every pass.

    A shared machine only ever slows a pass down, so the fastest pass is the least disturbed.
    """
    best = min(stages, key=lambda stage: stage.seconds)
    return replace(best, passes=tuple(stage.seconds for stage in stages))


def progress(message: str) -> None:
    """Print one progress line to stderr, so stdout keeps only the results."""
    print(f"… {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- the petitions
def load_generator(path: Path = GENERATOR_PATH) -> ModuleType:
    """Return the sample generator module, loaded from its file (data/ is not a package)."""
    if not path.exists():
        raise GeneratorMissingError(f"sample generator not found: {path}")
    spec = importlib.util.spec_from_file_location("tamtu_sample_generator", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the file runs.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _generated_records(seed: int, per_month: int) -> Iterator[dict[str, Any]]:
    # One generated year per seed; a new seed whenever more texts are needed.
    generator = load_generator()
    while True:
        yield from generator.generate_records(
            date(2025, 1, 1), date(2025, 12, 31), per_month=per_month, seed=seed
        )
        seed += 1


def make_petitions(
    count: int, *, seed: int = 2025, target_syllables: int = TARGET_SYLLABLES
) -> list[dict[str, Any]]:
    """Return `count` petition rows whose text joins generated texts to about the target length.

    Texts are normalised here, so that tokenisation alone and `tamtu ingest` see the very same
    strings. Metadata (date, area, sender...) come from the first text of each petition.
    """
    from pipeline.intake.normalize import normalize_text

    # Generated texts average about 65 syllables, so about 2.3 are joined per petition.
    per_month = max(20, count * 3 // 12)
    records = _generated_records(seed, per_month)
    petitions: list[dict[str, Any]] = []
    while len(petitions) < count:
        first = next(records)
        parts = [normalize_text(first["text"]).text]
        syllables = len(parts[0].split())
        while syllables < target_syllables:
            following = normalize_text(next(records)["text"]).text
            length = len(following.split())
            # Stop before a text that would take the petition further from the target.
            if abs(syllables + length - target_syllables) > target_syllables - syllables:
                break
            parts.append(following)
            syllables += length
        row = {column: first.get(column) for column in CSV_COLUMNS}
        row["text"] = "\n".join(parts)
        row["external_id"] = f"BENCH-{len(petitions) + 1:05d}"
        petitions.append(row)
    return petitions


def write_petitions_csv(petitions: list[dict[str, Any]], path: Path) -> Path:
    """Return the path of a UTF-8 CSV holding the petitions under the canonical column names."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for row in petitions:
            writer.writerow([
                value.isoformat() if isinstance(value, date) else ("" if value is None else value)
                for value in (row[column] for column in CSV_COLUMNS)
            ])
    return path


def describe_petitions(texts: list[str]) -> dict[str, Any]:
    """Return the size of the petitions: count, syllables and sentences (distinct and total)."""
    from pipeline.text.tokenize import split_sentences

    lengths = sorted(len(t.split()) for t in texts)
    sentences = [s.strip() for t in texts for s in split_sentences(t)]
    return {
        "petitions": len(texts),
        "syllables_mean": round(sum(lengths) / len(lengths), 1),
        "syllables_median": lengths[len(lengths) // 2],
        "sentences": len(sentences),
        "distinct_sentences": len(set(sentences)),
    }


# ---------------------------------------------------------------------- the stages
def time_underthesea_direct(texts: list[str]) -> Stage:
    """Return underthesea.word_tokenize on each whole text: no sentence split, no cache."""
    from underthesea import word_tokenize

    word_tokenize("Khởi động bộ tách từ.")  # loading the model is not part of the pass
    started = time.perf_counter()
    for text in texts:
        word_tokenize(text)
    return Stage("a_direct", "(a0) underthesea.word_tokenize",
                 "whole text at once, no cache: the raw tokenizer cost",
                 time.perf_counter() - started, len(texts))


def time_pipeline_tokenize(texts: list[str]) -> tuple[Stage, float]:
    """Return tokenize over the texts from a cleared cache, and the cache hit share."""
    from pipeline.text import tokenize

    tokenize._tokenize_sentence.cache_clear()
    started = time.perf_counter()
    for text in texts:
        tokenize.word_tokens(text)
    seconds = time.perf_counter() - started
    hits, misses = tokenize.cache_info()
    stage = Stage("a", "(a) pipeline.text.tokenize, cold cache",
                  "sentence cache cleared first; sentences repeated within the pass are hits, "
                  "exactly as in (b)", seconds, len(texts))
    return stage, hits / max(1, hits + misses)


def time_pipeline_tokenize_warm(texts: list[str]) -> Stage:
    """Return pipeline.text.tokenize over texts whose sentences are all cached already."""
    from pipeline.text import tokenize

    started = time.perf_counter()
    for text in texts:
        tokenize.word_tokens(text)
    return Stage("a_warm", "(a-warm) pipeline.text.tokenize, warm cache",
                 "second pass, every sentence already cached: the floor of tokenising",
                 time.perf_counter() - started, len(texts))


def time_ingest_run(
    csv_path: Path, model_path: Path, workdir: Path
) -> tuple[Stage, dict[str, Any]]:
    """Return IngestRun with the default classifier into a fresh SQLite file, and its details."""
    from pipeline.run import IngestRun
    from pipeline.store import PetitionStore, create_db_engine, migrate
    from pipeline.text import tokenize
    from pipeline.text.classify import load_classifier

    started = time.perf_counter()
    classifier = load_classifier(model_path)
    load_seconds = time.perf_counter() - started
    engine = create_db_engine(f"sqlite:///{workdir / 'inprocess.db'}")
    migrate(engine)
    runner = IngestRun(PetitionStore(engine), classifier=classifier, runs_dir=workdir / "runs")
    tokenize._tokenize_sentence.cache_clear()
    started = time.perf_counter()
    report = runner.ingest_paths([csv_path])
    seconds = time.perf_counter() - started
    engine.dispose()
    stage = Stage("b", "(b) IngestRun, in process",
                  "read CSV, normalise, extract, tokenise + classify, dedupe, write SQLite; "
                  "cache cleared first; model loaded before the clock starts",
                  seconds, report.read)
    details = {"model_load_seconds": round(load_seconds, 2), "read": report.read,
               "stored": report.stored, "duplicates": report.duplicates,
               "quarantined": report.quarantined}
    return stage, details


def tamtu_executable() -> str:
    """Return the path of the `tamtu` command of this interpreter's environment."""
    beside = Path(sys.executable).with_name("tamtu")
    if beside.exists():
        return str(beside)
    found = shutil.which("tamtu")
    if found is None:
        raise FileNotFoundError("the `tamtu` command is not installed (pip install -e .)")
    return found


# A forked child inherits the parent's resident pages in its maxrss until it execs, so the
# command runs under this small fresh interpreter, which times it and reports its peak memory.
_MEASURE_CHILD = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[2:], check=False)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
with open(sys.argv[1], "w") as handle:
    json.dump({"seconds": seconds, "maxrss_kib": peak}, handle)
sys.exit(done.returncode)
"""


def time_cli(csv_path: Path, model_path: Path, workdir: Path) -> tuple[Stage, dict[str, Any]]:
    """Return `tamtu ingest` as a user runs it (wall clock), its counts and its peak memory."""
    env = {**os.environ, "TAMTU_DATABASE_URL": f"sqlite:///{workdir / 'cli.db'}",
           "TAMTU_RUNS_DIR": str(workdir / "cli-runs"), "TAMTU_MODEL_PATH": str(model_path)}
    measured = workdir / "cli-measure.json"
    command = [tamtu_executable(), "ingest", str(csv_path), "--json"]
    # The working directory is the temp dir so that no project .env file changes the settings.
    done = subprocess.run([sys.executable, "-c", _MEASURE_CHILD, str(measured), *command],
                          cwd=workdir, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"tamtu ingest failed ({done.returncode}): {done.stderr.strip()}")
    report = json.loads(done.stdout)
    timing = json.loads(measured.read_text(encoding="utf-8"))
    stage = Stage("b_cli", "(b-cli) `tamtu ingest` subprocess",
                  "wall clock of the real command: start-up, imports, model load, migrations "
                  "and the run", timing["seconds"], int(report["read"]))
    details = {key: report[key] for key in ("read", "stored", "duplicates", "quarantined")}
    details["peak_rss_mb"] = round(timing["maxrss_kib"] / 1024)
    return stage, details


def peak_rss_mb() -> float:
    """Return this process's peak resident memory so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------- the run
def run(count: int, *, seed: int, model_path: Path, repeat: int = 3) -> dict[str, Any]:
    """Return every figure of the benchmark as JSON-ready values (fastest of `repeat` passes)."""
    results: dict[str, Any] = {"cpu_count": os.cpu_count(), "processes": 1,
                               "model": str(model_path), "passes": repeat}
    with tempfile.TemporaryDirectory(prefix="tamtu-throughput-") as tmp:
        workdir = Path(tmp)
        progress(f"generating {count} petitions of about {TARGET_SYLLABLES} syllables")
        petitions = make_petitions(count, seed=seed)
        csv_path = write_petitions_csv(petitions, workdir / "petitions.csv")
        texts = [row["text"] for row in petitions]
        results["data"] = describe_petitions(texts)
        results["memory_mb"] = {"after_generating": round(peak_rss_mb())}

        passes = range(1, repeat + 1)
        direct_runs, cold_runs, warm_runs, ingest_runs, cli_runs = [], [], [], [], []
        for number in passes:
            progress(f"(a0) underthesea.word_tokenize on whole texts, pass {number}/{repeat}")
            direct_runs.append(time_underthesea_direct(texts))
        for number in passes:
            progress(f"(a) and (a-warm) pipeline.text.tokenize, pass {number}/{repeat}")
            stage, hit_share = time_pipeline_tokenize(texts)
            cold_runs.append(stage)
            warm_runs.append(time_pipeline_tokenize_warm(texts))
        results["sentence_cache_hit_share"] = round(hit_share, 3)
        results["memory_mb"]["peak_tokenising"] = round(peak_rss_mb())

        for number in passes:
            progress(f"(b) IngestRun into a fresh SQLite file, pass {number}/{repeat}")
            (workdir / f"inprocess-{number}").mkdir()
            stage, ingest_details = time_ingest_run(csv_path, model_path,
                                                    workdir / f"inprocess-{number}")
            ingest_runs.append(stage)
        results["ingest_in_process"] = ingest_details
        results["memory_mb"]["peak_in_process_ingest"] = round(peak_rss_mb())

        for number in passes:
            progress(f"(b-cli) tamtu ingest in a subprocess, pass {number}/{repeat}")
            (workdir / f"cli-{number}").mkdir()
            stage, cli_details = time_cli(csv_path, model_path, workdir / f"cli-{number}")
            cli_runs.append(stage)
        results["ingest_cli"] = cli_details
        results["memory_mb"]["peak_cli_ingest"] = cli_details["peak_rss_mb"]
        direct, cold, warm = fastest(direct_runs), fastest(cold_runs), fastest(warm_runs)
        in_process, cli = fastest(ingest_runs), fastest(cli_runs)

    stages = [direct, cold, warm, in_process, cli]
    results["stages"] = {
        s.key: {"name": s.name, "meaning": s.meaning, "seconds": round(s.seconds, 3),
                "petitions": s.petitions, "per_second": round(s.per_second, 1),
                "slowest_per_second": round(s.slowest_per_second(), 1),
                "passes_seconds": [round(x, 3) for x in s.passes]}
        for s in stages
    }
    results["ratios"] = {
        "b/a": _ratio(in_process, cold, goal=True),
        "b_cli/a": _ratio(cli, cold, goal=True),
        "b/a0": _ratio(in_process, direct, goal=False),
    }
    return results


def _ratio(top: Stage, bottom: Stage, *, goal: bool) -> dict[str, Any]:
    value = top.per_second / bottom.per_second
    return {"value": round(value, 3), "goal": f">= {RATIO_GOAL}" if goal else None,
            "met": (value >= RATIO_GOAL) if goal else None}


def format_report(results: dict[str, Any]) -> str:
    """Return the results as plain-text markdown tables with a short explanation."""
    data = results["data"]
    lines = [
        "## Throughput: tokenisation alone vs `tamtu ingest`",
        "",
        f"{data['petitions']} generated petitions, {data['syllables_mean']} syllables on average "
        f"(median {data['syllables_median']}); {data['sentences']} sentences of which "
        f"{data['distinct_sentences']} distinct. One process, {results['cpu_count']} CPUs seen. "
        f"Each stage ran {results['passes']} times: the fastest pass is shown, then the slowest.",
        "",
        "| stage | petitions/s | slowest pass | seconds | what it measures |",
        "|---|---:|---:|---:|---|",
    ]
    for stage in results["stages"].values():
        lines.append(f"| {stage['name']} | {stage['per_second']:,.1f} "
                     f"| {stage['slowest_per_second']:,.1f} | {stage['seconds']:.2f} "
                     f"| {stage['meaning']} |")
    lines += [
        "",
        f"Sentence cache hits during (a): {results['sentence_cache_hit_share']:.1%} "
        "(boilerplate and repeated sentences are tokenised once).",
        f"Model load before (b): {results['ingest_in_process']['model_load_seconds']:.2f} s.",
        "",
        "| ratio | value | goal | met |",
        "|---|---:|---|---|",
    ]
    explained = {
        "b/a": "(b) / (a): ingest vs tokenising alone, same cache behaviour",
        "b_cli/a": "(b-cli) / (a): the real command vs tokenising alone",
        "b/a0": "(b) / (a0): ingest vs the raw tokenizer without cache",
    }
    for key, ratio in results["ratios"].items():
        met = "—" if ratio["met"] is None else ("yes" if ratio["met"] else "no")
        lines.append(f"| {explained[key]} | {ratio['value']:.2f} | {ratio['goal'] or '—'} "
                     f"| {met} |")
    memory = results["memory_mb"]
    ingest, cli = results["ingest_in_process"], results["ingest_cli"]
    lines += [
        "",
        "| peak memory (maxrss) | MB |",
        "|---|---:|",
        f"| benchmark process after generating the petitions | {memory['after_generating']} |",
        f"| benchmark process after tokenising (a0, a, a-warm) | {memory['peak_tokenising']} |",
        f"| benchmark process after the in-process ingest (b) | "
        f"{memory['peak_in_process_ingest']} |",
        f"| `tamtu ingest` subprocess (b-cli) | {memory['peak_cli_ingest']} |",
        "",
        f"Accounting (b): read {ingest['read']} = stored {ingest['stored']} + duplicates "
        f"{ingest['duplicates']} + quarantined {ingest['quarantined']}; (b-cli): read "
        f"{cli['read']} = stored {cli['stored']} + duplicates {cli['duplicates']} + "
        f"quarantined {cli['quarantined']}.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its tables (or JSON); return the exit code."""
    from pipeline.config import get_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=2000,
                        help="number of petitions (default 2000; e.g. 50 for a smoke run)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="passes per stage, the fastest is kept (default 3; 1 with --limit "
                             "below 500)")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--model", type=Path, default=None,
                        help="model file (default: the configured default model)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    model_path = args.model or get_settings().model_path
    if not model_path.exists():
        print(f"model file not found: {model_path} (train it: python -m models.train)",
              file=sys.stderr)
        return 1
    try:
        count = max(1, args.limit)
        repeat = args.repeat or (1 if count < 500 else 3)
        results = run(count, seed=args.seed, model_path=model_path, repeat=max(1, repeat))
    except GeneratorMissingError as error:
        print(str(error), file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        print(format_report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
