"""Classifier benchmarks on real text nobody on the project wrote, plus speed, load time and size.

Reads the evaluation sets at run time from ``$TAMTU_BENCHMARKS_DIR`` (default
``<project root>/../shared/benchmarks``, see the README there); nothing from them is stored in
the repository. Run from the project root:

    .venv/bin/python benchmarks/classify.py              # full run, a few minutes
    .venv/bin/python benchmarks/classify.py --limit 40   # smoke run on small subsets
    .venv/bin/python benchmarks/classify.py --json       # figures as JSON

- UIT-VSFC: the real `tamtu train` and `tamtu evaluate --json` commands, for the `topic` and the
  `sentiment` columns, compared with the goals and with published baselines.
- vn-news: the DEFAULT model on news articles (a cross-domain check with silver labels).
- Speed: texts/second of `predict_batch` with a warm tokenizer cache, model load time in a fresh
  process, model file size.

It prints figures and ratios; it never asserts. Progress lines go to stderr.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS_ENV = "TAMTU_BENCHMARKS_DIR"
NOT_FOUND = "benchmark data not found"

UIT_GOALS = {"weighted_f1": 0.88, "macro_f1": 0.78}
TRAIN_SECONDS_GOAL = 120.0  # issue 16: `tamtu train` on UIT-VSFC in under 2 minutes
SPEED_GOAL = 2000.0
LOAD_SECONDS_GOAL = 2.0
SIZE_MB_GOAL = 50.0

UIT_CLASS_NAMES = {
    "topic": {"0": "lecturer", "1": "training_program", "2": "facility", "3": "others"},
    "sentiment": {"0": "negative", "1": "neutral", "2": "positive"},
}
# Published results on the UIT-VSFC test split, in percent, as listed in the benchmarks README:
# (task, metric) -> [(model and source, value)].
PUBLISHED: dict[tuple[str, str], list[tuple[str, float]]] = {
    ("topic", "weighted_f1"): [("MaxEnt bigram, KSE 2018", 84.03),
                               ("PhoBERT single-task, thanhhaitrn repo", 86.0)],
    ("topic", "macro_f1"): [("MaxEnt bigram, KSE 2018", 71.29),
                            ("PhoBERT single-task, thanhhaitrn repo", 77.0)],
    ("topic", "accuracy"): [("MaxEnt bigram, KSE 2018", 84.40),
                            ("PhoBERT single-task, thanhhaitrn repo", 85.0)],
    ("sentiment", "weighted_f1"): [("MaxEnt, KSE 2018", 87.94),
                                   ("PhoBERT, NICS 2020 (F1)", 93.92)],
    ("sentiment", "accuracy"): [("PhoBERT, NICS 2020", 94.28)],
}
# The silver labels of baomoi_keyword_topics.csv and our topic codes.
BAOMOI_LABELS = {"land": "land", "environment": "environment", "religion": "religion",
                 "social_policy": "policy"}
WATCHED = frozenset(BAOMOI_LABELS.values())
SECURITY_SECTION = "an-ninh-xa-hoi"


class BenchmarkDataMissingError(FileNotFoundError):
    """The shared benchmark directory (or one of its files) is not there."""


@dataclass(frozen=True)
class Figure:
    """One measured figure with its goal, if the project set one."""

    section: str
    name: str
    value: float
    shown: str
    goal: str | None = None
    met: bool | None = None


def progress(message: str) -> None:
    """Print one progress line to stderr, so stdout keeps only the results."""
    print(f"… {message}", file=sys.stderr, flush=True)


def benchmarks_dir() -> Path:
    """Return the shared benchmark directory: $TAMTU_BENCHMARKS_DIR or ../shared/benchmarks."""
    given = os.environ.get(BENCHMARKS_ENV)
    return Path(given) if given else PROJECT_ROOT.parent / "shared" / "benchmarks"


def _require(path: Path) -> Path:
    if not path.exists():
        raise BenchmarkDataMissingError(f"{NOT_FOUND}: {path}")
    return path


def _read_csv(path: Path) -> list[dict[str, str]]:
    with _require(path).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _tamtu() -> str:
    beside = Path(sys.executable).with_name("tamtu")
    return str(beside) if beside.exists() else "tamtu"


def run_tamtu(args: Sequence[str], workdir: Path) -> tuple[dict[str, Any], float, float]:
    """Return the JSON printed by a `tamtu` command, its wall-clock and its CPU seconds.

    CPU seconds (user + system of the child process) stay close to what an idle machine
    would need when other programs share the cores; wall-clock seconds do not.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    # The temp dir as working directory keeps a project .env file from changing the settings.
    done = subprocess.run([_tamtu(), *args], cwd=workdir, capture_output=True, text=True,
                          check=False)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise RuntimeError(f"tamtu {args[0]} failed ({done.returncode}): {done.stderr.strip()}")
    return json.loads(done.stdout), seconds, cpu


# ---------------------------------------------------------------------- UIT-VSFC
def _subset(rows: list[dict[str, str]], column: str, limit: int) -> list[dict[str, str]]:
    # Equal rows per class, so a smoke run still has every class (`tamtu train` wants a few each).
    classes = sorted({row[column] for row in rows})
    per_class = max(10, math.ceil(limit / len(classes)))
    kept: list[dict[str, str]] = []
    for label in classes:
        kept += [row for row in rows if row[column] == label][:per_class]
    return kept


def _write_rows(rows: list[dict[str, str]], path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def uit_vsfc(data_dir: Path, workdir: Path, column: str, limit: int | None) -> dict[str, Any]:
    """Return training time and test metrics of `tamtu train` + `tamtu evaluate` on one column."""
    train, test = data_dir / "train.csv", data_dir / "test.csv"
    _require(train)
    _require(test)
    if limit:
        # Smoke runs train on small subsets, written to the temp dir only.
        train = _write_rows(_subset(_read_csv(train), column, limit),
                            workdir / f"train-{column}.csv")
        test = _write_rows(_subset(_read_csv(test), column, limit),
                           workdir / f"test-{column}.csv")
    model = workdir / f"vsfc-{column}.skops"
    progress(f"UIT-VSFC {column}: tamtu train")
    trained, train_wall, train_cpu = run_tamtu(
        ["train", "--data", str(train), "--label-col", column, "--out", str(model), "--json"],
        workdir,
    )
    progress(f"UIT-VSFC {column}: tamtu evaluate")
    metrics, _, _ = run_tamtu(
        ["evaluate", "--data", str(test), "--label-col", column, "--model", str(model), "--json"],
        workdir,
    )
    names = UIT_CLASS_NAMES[column]
    return {
        "train_texts": trained["texts"], "test_texts": metrics["n"],
        "train_wall_seconds": round(train_wall, 2), "train_cpu_seconds": round(train_cpu, 2),
        "selection": trained.get("selection"),
        "train_seconds_reported": trained["train_seconds"],
        "accuracy": metrics["accuracy"], "weighted_f1": metrics["weighted_f1"],
        "macro_f1": metrics["macro_f1"], "ci95": metrics.get("ci95", {}),
        "per_class_f1": {names.get(label, label): round(row["f1"], 4)
                         for label, row in metrics["per_label"].items()},
    }


# ---------------------------------------------------------------------- vn-news
def _predict_topics(classifier: Any, texts: list[str]) -> list[list[str]]:
    return [p.topics for p in classifier.predict_batch(texts)]


def _article_text(row: dict[str, str]) -> str:
    from pipeline.intake.normalize import normalize_text

    return normalize_text(f"{row['title']}\n{row['text']}").text


def baomoi(classifier: Any, path: Path, limit: int | None) -> dict[str, Any]:
    """Return, per silver label, the share of articles whose predicted topics hold that label."""
    rows = _read_csv(path)
    groups: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        groups.setdefault(row["weak_label_title_keyword"], []).append(row)
    if limit:
        groups = {label: group[:max(2, limit // len(groups))] for label, group in groups.items()}
    result: dict[str, Any] = {"per_label": {}}
    hits = total = 0
    for label, group in sorted(groups.items()):
        progress(f"vn-news baomoi: {len(group)} articles labelled {label}")
        predicted = _predict_topics(classifier, [_article_text(row) for row in group])
        if label == "none":
            clean = sum(1 for topics in predicted if not WATCHED.intersection(topics))
            result["none"] = {"n": len(group), "kept_free": clean, "share": clean / len(group),
                              "predicted": dict(Counter(t for ts in predicted for t in ts))}
            continue
        ours = BAOMOI_LABELS[label]
        found = sum(1 for topics in predicted if ours in topics)
        result["per_label"][ours] = {"n": len(group), "found": found, "share": found / len(group)}
        hits += found
        total += len(group)
    result["overall"] = {"n": total, "found": hits, "share": hits / total if total else 0.0}
    return result


def news_24h(classifier: Any, path: Path, limit: int | None) -> dict[str, Any]:
    """Return the share of an-ninh-xa-hoi articles predicted `security`, and of the others."""
    rows = _read_csv(path)
    security = [r for r in rows if r["category_url_section"] == SECURITY_SECTION]
    others = [r for r in rows if r["category_url_section"] != SECURITY_SECTION]
    if limit:
        security, others = security[:limit], others[:limit]
    progress(f"vn-news 24h: {len(security)} + {len(others)} articles")
    found = sum("security" in t for t in _predict_topics(
        classifier, [_article_text(r) for r in security]))
    false_alarms = sum("security" in t for t in _predict_topics(
        classifier, [_article_text(r) for r in others]))
    return {
        "security_section": {"n": len(security), "found": found,
                             "share": found / len(security) if security else 0.0},
        "other_sections": {"n": len(others), "predicted_security": false_alarms,
                           "share": false_alarms / len(others) if others else 0.0},
    }


# ---------------------------------------------------------------------- speed, load, size
def _throughput_module() -> ModuleType:
    # benchmarks/ is not a package: load the sibling script by path for its petition maker.
    path = Path(__file__).with_name("throughput.py")
    spec = importlib.util.spec_from_file_location("tamtu_benchmark_throughput", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def classification_speed(
    classifier: Any, texts: list[str], batch_size: int, repeat: int
) -> dict[str, Any]:
    """Return texts/second of predict_batch from a cold cache and again with the cache warm.

    Each is measured `repeat` times; the fastest pass is the figure (a shared machine only ever
    slows a pass down) and the slowest is kept to show the spread.
    """
    from pipeline.text import features, tokenize

    def one_pass() -> tuple[float, float]:
        # Only the tokenizer cache may be warm: the per-text feature cache is cleared so that
        # the "warm" figure measures classification of texts it has not featurised yet.
        features._folded_syllables.cache_clear()
        started, cpu_started = time.perf_counter(), time.process_time()
        for start in range(0, len(texts), batch_size):
            classifier.predict_batch(texts[start:start + batch_size])
        return time.perf_counter() - started, time.process_time() - cpu_started

    cold, warm, warm_cpu = [], [], []
    for number in range(1, repeat + 1):
        progress(f"classification speed, pass {number}/{repeat}")
        tokenize._tokenize_sentence.cache_clear()
        cold.append(one_pass()[0])
        wall, cpu = one_pass()
        warm.append(wall)
        warm_cpu.append(cpu)
    return {"texts": len(texts), "batch_size": batch_size, "passes": repeat,
            "syllables_mean": round(statistics.mean(len(t.split()) for t in texts), 1),
            "cold_per_second": len(texts) / min(cold), "warm_per_second": len(texts) / min(warm),
            "cold_slowest_per_second": len(texts) / max(cold),
            "warm_slowest_per_second": len(texts) / max(warm),
            # CPU seconds of this process: what the figure would be on an idle core (the
            # wall-clock figures above fall when other programs share the machine).
            "warm_per_cpu_second": len(texts) / max(min(warm_cpu), 1e-9)}


_LOAD_SCRIPT = """
import json, sys, time
from pathlib import Path
started, cpu_started = time.perf_counter(), time.process_time()
from pipeline.text.classify import load_classifier
imported, cpu_imported = time.perf_counter(), time.process_time()
load_classifier(Path(sys.argv[1]))
loaded, cpu_loaded = time.perf_counter(), time.process_time()
print(json.dumps({"import_seconds": imported - started, "load_seconds": loaded - imported,
                  "import_cpu_seconds": cpu_imported - cpu_started,
                  "load_cpu_seconds": cpu_loaded - cpu_imported}))
"""


def load_time(model_path: Path, runs: int, workdir: Path) -> dict[str, Any]:
    """Return the median seconds of load_classifier (and of importing it) in fresh processes."""
    timings: dict[str, list[float]] = {}
    for number in range(1, runs + 1):
        progress(f"model load in a fresh process ({number}/{runs})")
        done = subprocess.run([sys.executable, "-c", _LOAD_SCRIPT, str(model_path)], cwd=workdir,
                              capture_output=True, text=True, check=True)
        for key, value in json.loads(done.stdout).items():
            timings.setdefault(key, []).append(value)
    return {"runs": runs, **{key: statistics.median(v) for key, v in timings.items()}}


# ---------------------------------------------------------------------- the run
def run(*, limit: int | None, model_path: Path, speed_texts: int) -> dict[str, Any]:
    """Return every figure as JSON-ready values (benchmark parts are None when data is absent)."""
    from pipeline.config import get_settings
    from pipeline.text.classify import load_classifier

    root = benchmarks_dir()
    results: dict[str, Any] = {"benchmarks_dir": str(root), "limit": limit,
                               "model": str(model_path), "note": None}
    with tempfile.TemporaryDirectory(prefix="tamtu-bench-classify-") as tmp:
        workdir = Path(tmp)
        results["model_size_mb"] = model_path.stat().st_size / 1e6
        results["load"] = load_time(model_path, 1 if limit else 3, workdir)
        try:
            uit_dir = _require(root) / "uit-vsfc"
            results["uit_vsfc"] = {column: uit_vsfc(uit_dir, workdir, column, limit)
                                   for column in ("topic", "sentiment")}
        except BenchmarkDataMissingError as error:
            results["note"] = (f"{error}; UIT-VSFC and vn-news figures skipped "
                               f"(set {BENCHMARKS_ENV} to the directory).")
            results["uit_vsfc"] = None
        progress("loading the default model")
        classifier = load_classifier(model_path)
        if results["uit_vsfc"] is not None:
            try:
                news = root / "vn-news"
                results["vn_news"] = {
                    "baomoi": baomoi(classifier, news / "baomoi_keyword_topics.csv", limit),
                    "news_24h": news_24h(classifier, news / "news_24h_articles.csv", limit),
                }
            except BenchmarkDataMissingError as error:
                results["note"] = f"{error}; vn-news figures skipped."
                results["vn_news"] = None
        else:
            results["vn_news"] = None
        progress(f"classification speed on {speed_texts} generated petitions")
        petitions = _throughput_module().make_petitions(speed_texts)
        results["speed"] = classification_speed(
            classifier, [p["text"] for p in petitions], get_settings().batch_size,
            1 if limit else 3,
        )
    results["figures"] = [asdict(f) for f in figures(results)]
    return results


def _met(value: float, goal: float, *, at_least: bool) -> bool:
    return value >= goal if at_least else value <= goal


def _f1_shown(block: dict[str, Any], key: str) -> str:
    interval = block.get("ci95", {}).get(key)
    return f"{block[key]:.3f}" + (f" (95% CI {interval[0]:.3f}–{interval[1]:.3f})"
                                  if interval else "")


def _speed_shown(speed: dict[str, Any], cache: str) -> str:
    best, slowest = speed[f"{cache}_per_second"], speed[f"{cache}_slowest_per_second"]
    if speed["passes"] == 1:
        return f"{best:,.0f}"
    return f"{best:,.0f} (fastest of {speed['passes']} passes; slowest {slowest:,.0f})"


def figures(results: dict[str, Any]) -> list[Figure]:
    """Return the rows of the summary table, with goals where the project set them."""
    rows: list[Figure] = []
    for column, block in (results["uit_vsfc"] or {}).items():
        section = f"UIT-VSFC {column} ({block['train_texts']} train / {block['test_texts']} test)"
        wall = block["train_wall_seconds"]
        rows.append(Figure(section, "training time, `tamtu train` wall clock", wall,
                           f"{wall:.1f} s", f"< {TRAIN_SECONDS_GOAL:.0f} s",
                           wall < TRAIN_SECONDS_GOAL))
        cpu = block["train_cpu_seconds"]
        rows.append(Figure(section, "training time, CPU seconds of that process", cpu,
                           f"{cpu:.1f} s"))
        rows.append(Figure(section, "accuracy", block["accuracy"], f"{block['accuracy']:.3f}"))
        for key, name in (("weighted_f1", "weighted F1"), ("macro_f1", "macro F1")):
            goal = UIT_GOALS[key] if column == "topic" else None
            rows.append(Figure(
                section, name, block[key], _f1_shown(block, key),
                f">= {goal:.2f}" if goal is not None else None,
                _met(block[key], goal, at_least=True) if goal is not None else None,
            ))
    news = results.get("vn_news")
    if news:
        section = "vn-news baomoi (silver title labels)"
        for topic, block in news["baomoi"]["per_label"].items():
            rows.append(Figure(section, f"`{topic}` articles with `{topic}` predicted",
                               block["share"],
                               f"{block['share']:.1%} ({block['found']}/{block['n']})"))
        overall = news["baomoi"]["overall"]
        rows.append(Figure(section, "all labelled articles: label among predicted topics",
                           overall["share"],
                           f"{overall['share']:.1%} ({overall['found']}/{overall['n']})"))
        if "none" in news["baomoi"]:
            none = news["baomoi"]["none"]
            rows.append(Figure(section, "`none` articles kept free of land/environment/"
                               "religion/policy", none["share"],
                               f"{none['share']:.1%} ({none['kept_free']}/{none['n']})"))
        section = "vn-news 24h.com.vn (URL section)"
        hit = news["news_24h"]["security_section"]
        rows.append(Figure(section, f"`{SECURITY_SECTION}` articles predicted `security`",
                           hit["share"], f"{hit['share']:.1%} ({hit['found']}/{hit['n']})"))
        other = news["news_24h"]["other_sections"]
        rows.append(Figure(section, "other sections predicted `security` (may be right: "
                           "crime news sits in other sections too)", other["share"],
                           f"{other['share']:.1%} ({other['predicted_security']}/{other['n']})"))
    speed, load = results["speed"], results["load"]
    section = (f"Speed ({speed['texts']} generated petitions, ~{speed['syllables_mean']:.0f} "
               "syllables, 1 process)")
    rows.append(Figure(section, "classification after tokenisation (warm cache), texts/s",
                       speed["warm_per_second"], _speed_shown(speed, "warm"),
                       f">= {SPEED_GOAL:,.0f}", speed["warm_per_second"] >= SPEED_GOAL))
    rows.append(Figure(section, "the same per CPU second of this process (fastest pass)",
                       speed["warm_per_cpu_second"], f"{speed['warm_per_cpu_second']:,.0f}"))
    rows.append(Figure(section, "classification incl. tokenisation (cold cache), texts/s",
                       speed["cold_per_second"], _speed_shown(speed, "cold")))
    rows.append(Figure(section, f"model load, load_classifier in a fresh process (median of "
                       f"{load['runs']})", load["load_seconds"], f"{load['load_seconds']:.2f} s",
                       f"<= {LOAD_SECONDS_GOAL:.0f} s",
                       _met(load["load_seconds"], LOAD_SECONDS_GOAL, at_least=False)))
    rows.append(Figure(section, "model load, CPU seconds of that process (median)",
                       load["load_cpu_seconds"], f"{load['load_cpu_seconds']:.2f} s"))
    rows.append(Figure(section, "importing pipeline.text.classify before that",
                       load["import_seconds"],
                       f"{load['import_seconds']:.2f} s"))
    size = results["model_size_mb"]
    rows.append(Figure(section, "model file size", size, f"{size:.1f} MB",
                       f"<= {SIZE_MB_GOAL:.0f} MB", _met(size, SIZE_MB_GOAL, at_least=False)))
    return rows


def format_report(results: dict[str, Any]) -> str:
    """Return the summary table, the baseline comparison and per-class F1 as markdown text."""
    lines = ["## Classifier benchmarks", ""]
    if results["note"]:
        lines += [results["note"], ""]
    if results["limit"]:
        lines += [f"Smoke run on subsets (--limit {results['limit']}): figures are not "
                  "comparable with full runs.", ""]
    lines += ["| section | figure | value | goal | met |", "|---|---|---|---|---|"]
    for f in figures(results):
        met = "—" if f.met is None else ("yes" if f.met else "no")
        lines.append(f"| {f.section} | {f.name} | {f.shown} | {f.goal or '—'} | {met} |")
    if results["uit_vsfc"]:
        lines += ["", "### UIT-VSFC test split vs published results (percent)", "",
                  "| task | metric | Tâm tư (this run) | published |", "|---|---|---:|---|"]
        for (column, key), published in PUBLISHED.items():
            ours = results["uit_vsfc"][column][key] * 100
            others = "; ".join(f"{name}: {value:.2f}" for name, value in published)
            lines.append(f"| {column} | {key} | {ours:.2f} | {others} |")
        lines += ["", "F1 per class (test split):"]
        for column, block in results["uit_vsfc"].items():
            per_class = ", ".join(f"{name} {f1:.3f}" for name, f1 in block["per_class_f1"].items())
            lines.append(f"- {column}: {per_class}")
    news = results.get("vn_news")
    if news and "none" in news["baomoi"]:
        predicted = news["baomoi"]["none"]["predicted"]
        shown = ", ".join(f"{k} {v}" for k, v in sorted(predicted.items(), key=lambda kv: -kv[1]))
        lines += ["", f"Topics predicted for the baomoi `none` articles: {shown}."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print the tables (or JSON); return the exit code."""
    from pipeline.config import get_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None,
                        help="smoke run: about this many rows per data set (default: everything)")
    parser.add_argument("--speed-texts", type=int, default=None,
                        help="generated petitions for the speed figure (default 2000)")
    parser.add_argument("--model", type=Path, default=None,
                        help="model file for vn-news and speed (default: the configured model)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    model_path = args.model or get_settings().model_path
    if not model_path.exists():
        print(f"model file not found: {model_path} (train it: python -m models.train)",
              file=sys.stderr)
        return 1
    speed_texts = args.speed_texts or (max(20, args.limit) if args.limit else 2000)
    results = run(limit=args.limit, model_path=model_path, speed_texts=speed_texts)
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        print(format_report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
