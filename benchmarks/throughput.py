"""Throughput of ingest against the bare tokeniser, on petitions whose sentences never repeat.

The petitions are built here combinatorially from the team's own phrases, with numbers, names of
places and durations that vary, so that no two texts (and almost no two sentences) are equal: the
sentence cache cannot flatter the figures. Every configuration runs once per round, rounds
alternate (a shared machine slows whichever pass it lands on); the fastest and slowest are shown.

    .venv/bin/python benchmarks/throughput.py                 # 2,000 petitions, 2 rounds
    .venv/bin/python benchmarks/throughput.py --limit 40      # smoke run
    .venv/bin/python benchmarks/throughput.py --json

PostgreSQL: --postgres URL (or TAMTU_BENCH_POSTGRES_URL); without it a throw-away server is
started as the test suite does, and the stage is skipped with the reason if that fails.
It prints figures and ratios; it never asserts. Progress lines go to stderr.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"ingest/tokeniser": 0.8, "2 workers/1": 1.6, "postgresql/sqlite": 0.9,
           "dask 2/1 local": 1.4, "classify start-up s": 2.5}

# ---------------------------------------------------------------------- the petitions
OPENINGS = ("Kính gửi Ủy ban nhân dân xã {commune},", "Tôi tên là {person}, ở {village},",
            "Gia đình tôi ở số nhà {house} {village} xin trình bày như sau:",
            "Chúng tôi là {count} hộ dân sống ven đường {road},",
            "Thay mặt bà con tổ {group} {village}, tôi xin phản ánh:")
PROBLEMS = (
    "đoạn đường từ cầu {bridge} vào trường tiểu học dài khoảng {metres} mét bị sụt lún nặng",
    "cống thoát nước trước chợ {market} bị tắc suốt {days} ngày nay, nước bẩn tràn vào nhà",
    "trại chăn nuôi của ông {owner} xả nước thải ra mương {canal} làm cá chết hàng loạt",
    "trạm biến áp gần nhà văn hóa {village} hay mất điện, tuần qua mất {times} lần",
    "tiền hỗ trợ thiên tai đợt {wave} của {count} hộ chưa được chi trả",
    "xe chở cát chạy ban đêm trên đường {road} làm vỡ mặt đường và bụi mù mịt",
    "con kênh {canal} bị lấn chiếm {metres} mét để dựng quán và chuồng trại",
    "giếng khoan của trạm cấp nước {village} có mùi lạ, nước đục sau {days} ngày mưa",
    "việc đo đạc lại thửa đất số {plot} tờ bản đồ {sheet} kéo dài đã {months} tháng",
    "trường mầm non {village} thiếu {teachers} cô giáo nên các cháu phải học ghép",
)
EFFECTS = ("Bà con tổ {group} đi lại rất khó khăn, nhất là {count} cháu học sinh và người già.",
           "Đã có {times} vụ ngã xe trong tháng {month} vừa qua.",
           "Nhiều gia đình phải mua nước bình với giá {price} nghìn đồng mỗi tuần.",
           "Việc này ảnh hưởng đến sản xuất của khoảng {count} hộ.",
           "Mùi hôi bốc lên mỗi chiều, {times} cháu nhỏ trong xóm bị ho kéo dài.",
           "Thôn đã báo lên {times} lần từ tháng {month} nhưng chưa thấy ai xuống xem.")
REQUESTS = ("Đề nghị xã cử cán bộ xuống kiểm tra trước ngày {day} tháng {month}.",
            "Kính mong lãnh đạo sớm có phương án sửa chữa trong {days} ngày tới.",
            "Xin cho biết khi nào được giải quyết; số điện thoại liên hệ của tổ là {house}.",
            "Chúng tôi đề nghị xử lý dứt điểm, tránh để kéo dài qua mùa mưa năm {year}.",
            "Mong chính quyền trả lời bằng văn bản cho {count} hộ ký tên dưới đây.")
VILLAGES = ("thôn Tân Mỹ", "thôn Hà Lợi", "thôn Cang Gián", "thôn Thủy Ba", "thôn An Đức",
            "thôn Lễ Võ", "khu phố {group}", "xóm Bến", "thôn Đông", "thôn Tây Hồ")
COMMUNES = ("Cửa Tùng", "Vĩnh Hoàng", "Bến Quan", "Vĩnh Thủy", "Cồn Tiên", "Hải Lăng")
PEOPLE = ("Nguyễn Văn Hòa", "Trần Thị Lài", "Lê Đức Minh", "Phạm Thị Xuân", "Hoàng Văn Sáu",
          "Võ Thị Hạnh", "Đặng Quốc Bảo", "Bùi Thị Thu")


def _fill(template: str, rng: random.Random) -> str:
    values = {
        "commune": rng.choice(COMMUNES), "person": rng.choice(PEOPLE),
        "village": rng.choice(VILLAGES).replace("{group}", str(rng.randint(1, 12))),
        "house": rng.randint(1, 480), "count": rng.randint(3, 160), "road": rng.randint(1, 40),
        "group": rng.randint(1, 15), "bridge": rng.choice(("Khe Lau", "Bà Tư", "số 3", "Ông Ích")),
        "metres": rng.randint(20, 900), "market": rng.choice(("Cầu", "Chiều", "Phiên", "Mới")),
        "days": rng.randint(2, 40), "owner": rng.choice(("H.", "T.", "B.", "K.")),
        "canal": rng.choice(("N2", "Đồng Cừa", "Bàu Sen", "chính", "số 7")),
        "times": rng.randint(2, 9), "wave": rng.randint(1, 4), "plot": rng.randint(10, 999),
        "sheet": rng.randint(1, 60), "months": rng.randint(2, 30), "teachers": rng.randint(1, 5),
        "month": rng.randint(1, 12), "price": rng.randint(15, 90), "day": rng.randint(1, 28),
        "year": rng.randint(2025, 2027),
    }
    return template.format(**values)


def make_petitions(count: int, *, seed: int = 10) -> list[dict[str, str]]:
    """Return `count` distinct petitions of five to seven sentences, with date and address."""
    rng = random.Random(seed)
    seen: set[str] = set()
    rows: list[dict[str, str]] = []
    while len(rows) < count:
        problems = rng.sample(PROBLEMS, 2)
        parts = [_fill(rng.choice(OPENINGS), rng) + " " + _fill(problems[0], rng) + ".",
                 _fill(rng.choice(EFFECTS), rng),
                 "Ngoài ra, " + _fill(problems[1], rng) + ".",
                 _fill(rng.choice(EFFECTS), rng), _fill(rng.choice(REQUESTS), rng)]
        if rng.random() < 0.5:
            parts.insert(3, f"Sự việc bắt đầu từ khoảng ngày {rng.randint(1, 28)} tháng "
                            f"{rng.randint(1, 12)} năm {rng.choice((2024, 2025))}.")
        text = " ".join(parts)
        if text in seen:
            continue
        seen.add(text)
        rows.append({"text": text, "received_at": f"2025-{rng.randint(1, 12):02d}-"
                                                   f"{rng.randint(1, 28):02d}",
                     "area": _fill(rng.choice(VILLAGES), rng) + f", xã {rng.choice(COMMUNES)}"})
    return rows


def write_csv(rows: list[dict[str, str]], path: Path) -> Path:
    """Return the path of a UTF-8 CSV with the canonical column names."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text", "received_at", "area"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def describe(texts: list[str]) -> dict[str, Any]:
    """Return how many petitions, syllables and (distinct) sentences the texts hold."""
    from pipeline.text.tokenize import split_sentences

    sentences = [s.strip() for t in texts for s in split_sentences(t)]
    return {"petitions": len(texts),
            "syllables_mean": round(sum(len(t.split()) for t in texts) / len(texts), 1),
            "sentences": len(sentences), "distinct_sentences": len(set(sentences))}


# ---------------------------------------------------------------------- the stages
@dataclass
class Stage:
    """One configuration and the seconds of each of its passes."""

    key: str
    name: str
    petitions: int
    seconds: list[float] = field(default_factory=list)
    note: str = ""

    def rate(self, slowest: bool = False) -> float:
        """Petitions per second of the fastest (or slowest) pass."""
        chosen = max(self.seconds) if slowest else min(self.seconds)
        return self.petitions / chosen if chosen > 0 else float("inf")


def progress(message: str) -> None:
    """Print one progress line to stderr."""
    print(f"… {message}", file=sys.stderr, flush=True)


@contextmanager
def sentence_cache(enabled: bool) -> Iterator[None]:
    """Run with the sentence cache cleared, or bypassed; forked workers inherit the choice."""
    from pipeline.text import tokenize

    cached = tokenize._tokenize_sentence
    cached.cache_clear()
    if not enabled:
        tokenize._tokenize_sentence = lambda sentence: tuple(tokenize._word_tokenize()(sentence))
    try:
        yield
    finally:
        tokenize._tokenize_sentence = cached


def time_tokeniser(texts: list[str]) -> float:
    """Return the seconds of underthesea.word_tokenize on each whole text."""
    from underthesea import word_tokenize

    word_tokenize("Khởi động bộ tách từ.")
    started = time.perf_counter()
    for text in texts:
        word_tokenize(text)
    return time.perf_counter() - started


def time_ingest(csv_path: Path, url: str, executor: Any, runs: Path) -> tuple[float, Any]:
    """Return the seconds of one IngestRun of the file into the database, and its report."""
    from pipeline.run import IngestRun
    from pipeline.store import PetitionStore, create_db_engine, metadata, migrate

    engine = create_db_engine(url)
    migrate(engine)
    with engine.begin() as conn:  # the same empty tables for every pass
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    runner = IngestRun(PetitionStore(engine), runs_dir=runs, executor=executor)
    started = time.perf_counter()
    report = runner.ingest_paths([csv_path])
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds, report


def time_classify_startup(model_path: Path) -> float:
    """Return the wall clock of `tamtu classify "…"` for one text, as a user starts it."""
    tamtu = Path(sys.executable).with_name("tamtu")
    env = {**os.environ, "TAMTU_MODEL_PATH": str(model_path)}
    started = time.perf_counter()
    subprocess.run([str(tamtu), "classify", "Cống thoát nước trước chợ bị tắc, nước tràn vào nhà"],
                   check=True, capture_output=True, env=env, cwd=tempfile.gettempdir())
    return time.perf_counter() - started


def startup_comparison(model_path: Path, runs: int) -> dict[str, dict[str, list[float]]]:
    """Return wall and CPU seconds of `tamtu classify "…"`, alternating two model forms.

    "compact": the model as shipped (its NumPy copy beside the skops file is loaded);
    "skops only": a copy of the skops file alone in a temporary folder (scikit-learn loaded).
    CPU seconds (user + system of the command) say what the start costs the machine; the wall
    clock also holds the time spent waiting for a busy CPU.
    """
    import resource

    tamtu = Path(sys.executable).with_name("tamtu")
    figures: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="tamtu-startup-") as folder:
        alone = Path(folder) / model_path.name
        shutil.copyfile(model_path, alone)
        for _ in range(runs):
            for name, path in (("compact", model_path), ("skops only", alone)):
                env = {**os.environ, "TAMTU_MODEL_PATH": str(path)}
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                started = time.perf_counter()
                subprocess.run([str(tamtu), "classify", "Cống thoát nước trước chợ bị tắc"],
                               check=True, capture_output=True, env=env,
                               cwd=tempfile.gettempdir())
                wall = time.perf_counter() - started
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                entry = figures.setdefault(name, {"wall": [], "cpu": []})
                entry["wall"].append(round(wall, 2))
                entry["cpu"].append(round(cpu, 2))
    return figures


@contextmanager
def postgres(url: str | None) -> Iterator[tuple[str | None, str]]:
    """Yield a PostgreSQL URL (given, or a throw-away server) or None with the reason."""
    if url:
        yield url, ""
        return
    sys.path.insert(0, str(PROJECT_ROOT))
    try:
        from tests.pg_server import PostgresServer

        server = PostgresServer()
        started = server.start()
    except Exception as error:  # noqa: BLE001 - reported in the table instead
        yield None, f"no PostgreSQL server ({error})"
        return
    try:
        yield started, ""
    finally:
        server.stop()


@contextmanager
def dask_cluster(spec: Any) -> Iterator[Any]:
    """Yield a connected DaskCluster on a 2-worker LocalCluster of processes."""
    from distributed import LocalCluster

    from pipeline.cluster import DaskCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      scheduler_port=0, dashboard_address=None) as local:
        with DaskCluster(local.scheduler_address, spec) as cluster:
            yield cluster


def run(count: int, *, rounds: int, model_path: Path, postgres_url: str | None
        ) -> dict[str, Any]:
    """Return every figure of the benchmark as JSON-ready values."""
    from pipeline.config import Settings
    from pipeline.executors import InProcess, ProcessPool
    from pipeline.process import resource_spec, worker_resources

    spec = resource_spec(model_path, Settings().gazetteer_dir)
    resources = worker_resources(spec)  # loaded before any clock starts
    with tempfile.TemporaryDirectory(prefix="tamtu-throughput-") as tmp:
        work = Path(tmp)
        rows = make_petitions(count)
        csv_path = write_csv(rows, work / "petitions.csv")
        texts = [row["text"] for row in rows]
        results: dict[str, Any] = {"cpu_count": os.cpu_count(), "rounds": rounds,
                                   "data": describe(texts)}
        sqlite = f"sqlite:///{work / 'bench.db'}"
        stages = {key: Stage(key, name, count) for key, name in (
            ("tokeniser", "bare underthesea.word_tokenize, per text"),
            ("w1_off", "ingest, 1 process, sentence cache off"),
            ("w1_on", "ingest, 1 process, sentence cache on"),
            ("w2_off", "ingest, 2 worker processes, cache off"),
            ("w2_on", "ingest, 2 worker processes, cache on"),
            ("pg_w1", "ingest into PostgreSQL, 1 process, cache off"),
            ("pg_w2", "ingest into PostgreSQL, 2 worker processes, cache off"),
            ("dask2", "ingest on Dask LocalCluster, 2 workers, cache on"),
        )}
        accounting: dict[str, tuple[int, int, int, int]] = {}
        startup: list[float] = []
        with postgres(postgres_url) as (pg_url, pg_reason), dask_cluster(spec) as cluster:
            plan: list[tuple[str, Callable[[], float]]] = [
                ("tokeniser", lambda: time_tokeniser(texts))]
            for key, url, workers, cache in (
                ("w1_off", sqlite, 1, False), ("w1_on", sqlite, 1, True),
                ("w2_off", sqlite, 2, False), ("w2_on", sqlite, 2, True),
                ("pg_w1", pg_url, 1, False), ("pg_w2", pg_url, 2, False),
            ):
                if url is None:
                    stages[key].note = pg_reason
                    continue
                executor = InProcess(resources) if workers == 1 else ProcessPool(spec, workers)
                plan.append((key, _ingest_pass(key, csv_path, url, executor, cache, work,
                                               accounting)))
            plan.append(("dask2", _ingest_pass("dask2", csv_path, sqlite, cluster, True, work,
                                               accounting)))
            for number in range(1, rounds + 1):
                for key, measure in plan:
                    progress(f"round {number}/{rounds}: {stages[key].name}")
                    stages[key].seconds.append(measure())
                progress(f"round {number}/{rounds}: tamtu classify start-up")
                startup.append(time_classify_startup(model_path))
        results["accounting"] = accounting
        results["classify_startup_seconds"] = [round(s, 2) for s in startup]
        results["stages"] = {
            key: {"name": s.name, "per_second": round(s.rate(), 1),
                  "slowest_per_second": round(s.rate(slowest=True), 1),
                  "passes_seconds": [round(x, 2) for x in s.seconds], "note": s.note}
            for key, s in stages.items()
        }
        results["ratios"] = _ratios(stages, min(startup))
    return results


def _ingest_pass(key: str, csv_path: Path, url: str, executor: Any, cache: bool, work: Path,
                 accounting: dict[str, tuple[int, int, int, int]]) -> Callable[[], float]:
    def measure() -> float:
        with sentence_cache(cache):
            seconds, report = time_ingest(csv_path, url, executor, work / f"runs-{key}")
        accounting[key] = (report.read, report.stored, report.duplicates, report.quarantined)
        return seconds
    return measure


def _ratios(stages: dict[str, Stage], startup: float) -> dict[str, dict[str, Any]]:
    def rate(key: str) -> float | None:
        return stages[key].rate() if stages[key].seconds else None

    def ratio(top: str, bottom: str) -> float | None:
        a, b = rate(top), rate(bottom)
        return None if a is None or b is None else a / b

    values = {
        "ingest/tokeniser": ratio("w1_off", "tokeniser"),
        "2 workers/1": ratio("w2_off", "w1_off"),
        "postgresql/sqlite": ratio("pg_w1", "w1_off"),
        "dask 2/1 local": ratio("dask2", "w1_on"),
        "classify start-up s": startup,
    }
    out = {}
    for key, value in values.items():
        goal = TARGETS[key]
        met = None if value is None else (value <= goal if key.endswith(" s") else value >= goal)
        out[key] = {"value": None if value is None else round(value, 2),
                    "goal": f"{'<=' if key.endswith(' s') else '>='} {goal}", "met": met}
    return out


def format_report(results: dict[str, Any]) -> str:
    """Return the results as markdown tables."""
    data = results["data"]
    lines = [
        "## Throughput: non-repeating petitions, every executor",
        "",
        f"{data['petitions']} petitions written combinatorially, {data['syllables_mean']} "
        f"syllables on average; {data['sentences']} sentences of which "
        f"{data['distinct_sentences']} distinct. {results['cpu_count']} CPUs seen; "
        f"{results['rounds']} alternating rounds, fastest and slowest pass shown.",
        "",
        "| stage | petitions/s | slowest pass | passes (s) |",
        "|---|---:|---:|---|",
    ]
    for stage in results["stages"].values():
        if not stage["passes_seconds"]:
            lines.append(f"| {stage['name']} | — | — | not measured: {stage['note']} |")
            continue
        lines.append(f"| {stage['name']} | {stage['per_second']:,.1f} | "
                     f"{stage['slowest_per_second']:,.1f} | "
                     f"{', '.join(f'{s:.2f}' for s in stage['passes_seconds'])} |")
    lines += ["", f"`tamtu classify \"…\"` start-up (s): "
                  f"{', '.join(f'{s:.2f}' for s in results['classify_startup_seconds'])}", "",
              "| ratio | value | goal | met |", "|---|---:|---|---|"]
    for key, ratio in results["ratios"].items():
        met = "—" if ratio["met"] is None else ("yes" if ratio["met"] else "no")
        value = "—" if ratio["value"] is None else f"{ratio['value']:.2f}"
        lines.append(f"| {key} | {value} | {ratio['goal']} | {met} |")
    lines += ["", "Accounting per stage (read = stored + duplicates + quarantined): " + "; ".join(
        f"{key} read {a[0]} = stored {a[1]} + duplicates {a[2]} + quarantined {a[3]}"
        for key, a in results["accounting"].items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its tables (or JSON); return the exit code."""
    from pipeline.config import get_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=2000, help="number of petitions")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (default 2)")
    parser.add_argument("--postgres", default=os.environ.get("TAMTU_BENCH_POSTGRES_URL"),
                        help="PostgreSQL URL (default: start a throw-away server)")
    parser.add_argument("--model", type=Path, default=None, help="model file")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--startup", type=int, default=0, metavar="N",
                        help="only time `tamtu classify` start-up N times, compact copy vs skops")
    args = parser.parse_args(argv)
    model_path = args.model or get_settings().model_path
    if not model_path.exists():
        print(f"model file not found: {model_path}", file=sys.stderr)
        return 1
    if args.startup:
        figures = startup_comparison(model_path, args.startup)
        print(json.dumps(figures, indent=2) if args.json else "\n".join(
            f"{name}: wall {min(f['wall']):.2f}–{max(f['wall']):.2f} s, CPU "
            f"{min(f['cpu']):.2f}–{max(f['cpu']):.2f} s (median {statistics.median(f['cpu']):.2f})"
            for name, f in figures.items()))
        return 0
    results = run(max(1, args.limit), rounds=max(1, args.rounds), model_path=model_path,
                  postgres_url=args.postgres)
    print(json.dumps(results, ensure_ascii=False, indent=2) if args.json
          else format_report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
