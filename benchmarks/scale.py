"""Province scale: build a large database through the real ingest path and time what users ask.

The bulk is imported as labelled history (CSV files with a `Lĩnh vực` column, stored without
classification, as an office bringing years of records from another system would); then 5,000
new petitions go through the ordinary path (classified, placed, clustered, alerts evaluated for
the days they touch) into an empty database and into the large one. A real `tamtu serve` is then
asked, cold (first call after that ingest) and warm, for trends, hot spots, emerging issues, the
petition list and the metrics; its memory is read from /proc. Finally 20 concurrent clients hit
a freshly started server. Every figure is measured in this run; nothing is asserted.

    python benchmarks/scale.py                          # 1,000,000 petitions, SQLite
    python benchmarks/scale.py --rows 100000 --backend sqlite --backend postgresql
    python benchmarks/scale.py --work /data/scale       # keep the databases and files

Targets (issue "Province scale"): warm p95 < 300 ms and cold < 2 s per endpoint at 1 M; server
RSS < 1 GB; 5,000 new petitions into 1 M within 1.3x the time into an empty database; labelled
import >= 5,000 rows/s; 20 concurrent clients on a cold server: 0 errors.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import throughput  # noqa: E402  (the non-repeating petition writer)

from pipeline.config import Settings  # noqa: E402

FIRST_DAY = date(2023, 1, 1)
LAST_DAY = date(2025, 12, 24)
NEW_DAYS = 7  # the 5,000 new petitions fall on the week after LAST_DAY
FILE_ROWS = 100_000
TOPIC_NAMES = {"land": "Đất đai", "environment": "Môi trường", "religion": "Tôn giáo, tín ngưỡng",
               "policy": "Chính sách, an sinh xã hội", "infrastructure": "Hạ tầng, dịch vụ công",
               "security": "An ninh, trật tự", "governance": "Cán bộ, thủ tục hành chính",
               "other": "Khác"}
TOPIC_WEIGHTS = {"land": 22, "environment": 14, "religion": 2, "policy": 18,
                 "infrastructure": 20, "security": 8, "governance": 12, "other": 4}
TARGETS = {"warm p95 s": 0.3, "cold s": 2.0, "rss MB": 1024, "ingest ratio": 1.3,
           "import rows/s": 5000, "concurrent errors": 0}
ENDPOINTS = {
    "trends month × village": ("/api/v1/trends", {"period": "month", "level": "village",
                                                  "limit": 2000}),
    "trends filtered": ("/api/v1/trends", {"period": "week", "level": "commune",
                                           "topic": "land", "limit": 2000}),
    "hotspots": ("/api/v1/hotspots", {}),
    "emerging": ("/api/v1/emerging", {}),
    "petitions list": ("/api/v1/petitions", {"limit": 50}),
    "metrics": ("/api/v1/metrics", {}),
}
WARM_CALLS = 20


def say(message: str) -> None:
    """Print one progress line to stderr with the time of day."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ the data
def _villages(count: int, rng: random.Random) -> list[str]:
    names = [v.replace("{group}", str(g)) for v in throughput.VILLAGES for g in range(1, 4)]
    places = [f"{name}, xã {commune}" for name in names for commune in throughput.COMMUNES]
    rng.shuffle(places)
    return places[:count]


def write_labelled(rows: int, folder: Path, *, seed: int = 1) -> list[Path]:
    """Write `rows` distinct labelled petitions over FIRST_DAY..LAST_DAY as CSV files."""
    rng = random.Random(seed)
    places = _villages(60, rng)
    weights = [rng.uniform(0.2, 3.0) for _ in places]  # busy and quiet villages
    topics, topic_weights = list(TOPIC_WEIGHTS), list(TOPIC_WEIGHTS.values())
    span = (LAST_DAY - FIRST_DAY).days
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    written = 0
    while written < rows:
        path = folder / f"lich-su-{len(paths) + 1:03d}.csv"
        size = min(FILE_ROWS, rows - written)
        texts = throughput.make_petitions(size, seed=seed * 1000 + len(paths))
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["Số đơn", "Ngày nhận", "Địa chỉ", "Nội dung", "Lĩnh vực"])
            for i, row in enumerate(texts):
                day = FIRST_DAY + timedelta(days=rng.randrange(span + 1))
                chosen = rng.choices(topics, topic_weights, k=2 if rng.random() < 0.15 else 1)
                labels = "; ".join(TOPIC_NAMES[t] for t in dict.fromkeys(chosen))
                # A number makes every text unique even where the writer's sentences repeat.
                writer.writerow([f"LS-{written + i + 1}", day.strftime("%d/%m/%Y"),
                                 rng.choices(places, weights)[0],
                                 f"{row['text']} (Hồ sơ số {written + i + 1}.)", labels])
        written += size
        paths.append(path)
        say(f"  wrote {path.name}: {written:,}/{rows:,} rows")
    return paths


def write_new(count: int, path: Path, *, seed: int = 77) -> Path:
    """Write `count` new unlabelled petitions on the week after LAST_DAY."""
    rng = random.Random(seed)
    places = _villages(60, random.Random(1))
    texts = throughput.make_petitions(count, seed=seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Ngày nhận", "Địa chỉ", "Nội dung"])
        for row in texts:
            day = LAST_DAY + timedelta(days=rng.randint(1, NEW_DAYS))
            writer.writerow([day.strftime("%d/%m/%Y"), rng.choice(places), row["text"]])
    return path


# ------------------------------------------------------------------------------ ingest
def _ingest(url: str, paths: list[Path], runs: Path, *, alerts: bool,
            on_file: Any = None) -> tuple[float, int, float]:
    """Ingest files as `tamtu ingest` does (one process, plus alerts).

    Return (seconds, stored, CPU seconds of this process): on a machine shared with other work
    the wall clock also holds the time spent waiting for a CPU, the CPU seconds do not.

    `on_file(seconds, stored, cpu seconds)` is called after each file (the figures so far).
    """
    from pipeline.executors import InProcess
    from pipeline.intake.readers import Ingestor
    from pipeline.monitor.engine import run_alerts
    from pipeline.process import resource_spec, worker_resources
    from pipeline.run import IngestRun
    from pipeline.store import PetitionStore, create_db_engine, migrate

    settings = Settings(database_url=url, runs_dir=runs)
    started, cpu = time.perf_counter(), time.process_time()
    engine = create_db_engine(url)
    migrate(engine)
    store = PetitionStore(engine)
    resources = worker_resources(resource_spec(settings.model_path, settings.gazetteer_dir))
    runner = IngestRun(store, batch_size=settings.batch_size, runs_dir=runs,
                       executor=InProcess(resources))
    stored = 0
    for path in paths:
        report = runner.ingest_paths([path], ingestor=Ingestor())
        stored += report.stored
        if report.quarantined:
            say(f"  {path.name}: {report.quarantined} rows quarantined ({report.quarantine_csv})")
        if alerts and report.stored:
            run_alerts(settings, store, days=[date.fromisoformat(d) for d in report.days],
                       send=False)
        if on_file is not None:
            on_file(time.perf_counter() - started, stored, time.process_time() - cpu)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    engine.dispose()
    return seconds, stored, cpu


# ------------------------------------------------------------------------------ the server
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve(url: str, runs: Path) -> Iterator[tuple[str, int]]:
    """Yield (base URL, pid) of a real `tamtu serve` on the database."""
    port = _free_port()
    env = {**os.environ, "TAMTU_DATABASE_URL": url, "TAMTU_RUNS_DIR": str(runs),
           "TAMTU_RATE_LIMIT_PER_MINUTE": "100000"}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "tamtu"), "serve",
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/api/v1/healthz", timeout=2).status_code < 500:
                    break
            if process.poll() is not None:
                raise RuntimeError(process.stderr.read().decode() if process.stderr else "")
            time.sleep(0.3)
        yield base, process.pid
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=20)
        if process.poll() is None:
            process.kill()


def memory_mb(pid: int) -> dict[str, float]:
    """Return the process's current and peak resident memory in MB (from /proc)."""
    values: dict[str, float] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return {"rss": values.get("VmRSS", 0.0), "peak": values.get("VmHWM", 0.0)}


def admin_token(url: str) -> str:
    """Return a token of a new admin user on the database."""
    from api.security import create_token, create_user
    from pipeline.store import create_db_engine

    engine = create_db_engine(url)
    name = f"bench{random.randrange(10**6)}"
    create_user(engine, name, "admin")
    token = create_token(engine, name)
    engine.dispose()
    return token


def _call(client: httpx.Client, base: str, path: str, params: dict[str, Any]) -> float:
    started = time.perf_counter()
    response = client.get(base + path, params=params, timeout=600)
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{path}: HTTP {response.status_code} {response.text[:200]}")
    return seconds


def time_endpoints(base: str, token: str) -> dict[str, dict[str, float]]:
    """Return cold seconds and warm p50/p95 of every endpoint."""
    results: dict[str, dict[str, float]] = {}
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as client:
        for name, (path, params) in ENDPOINTS.items():
            cold = _call(client, base, path, params)
            warm = sorted(_call(client, base, path, params) for _ in range(WARM_CALLS))
            results[name] = {"cold": cold, "p50": statistics.median(warm),
                             "p95": warm[int(0.95 * (len(warm) - 1))]}
            say(f"  {name}: cold {cold:.2f} s, warm p50 {results[name]['p50'] * 1000:.0f} ms")
    return results


def concurrent_cold(base: str, token: str, clients: int = 20) -> dict[str, int]:
    """Send every endpoint from `clients` threads at once; return requests and errors."""
    errors: list[str] = []
    done = [0]
    lock = threading.Lock()

    def one() -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as client:
            for path, params in ENDPOINTS.values():
                try:
                    response = client.get(base + path, params=params, timeout=600)
                    failed = response.status_code >= 400
                except httpx.HTTPError as error:
                    failed, response = True, error  # type: ignore[assignment]
                with lock:
                    done[0] += 1
                    if failed:
                        errors.append(str(getattr(response, "status_code", response)))

    threads = [threading.Thread(target=one) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"requests": done[0], "errors": len(errors)}


# ------------------------------------------------------------------------------ one backend
def labelled_import(name: str, url: str, files: list[Path], work: Path) -> dict[str, Any]:
    """Import the history; return its figures, also kept in work/import-<name>.json per file."""
    runs = work / f"runs-{name}"
    say(f"{name}: labelled import of {len(files)} files")
    kept = work / f"import-{name}.json"

    def progress(seconds: float, stored: int, cpu: float) -> None:
        figures = {"stored": stored, "import s": seconds, "import rows/s": stored / seconds,
                   "import cpu s": cpu, "import rows/cpu s": stored / cpu}
        kept.write_text(json.dumps(figures), encoding="utf-8")
        say(f"{name}: {stored:,} stored in {seconds:.0f} s ({stored / seconds:.0f} rows/s)")

    seconds, stored, _cpu = _ingest(url, files, runs, alerts=False, on_file=progress)
    return {"stored": stored, "import s": seconds,
            "import rows/s": stored / seconds if seconds else 0.0}


def run_backend(name: str, url: str, empty_url: str, work: Path, imported: dict[str, Any],
                new_file: Path) -> dict[str, Any]:
    """Return the figures of one backend whose large database holds the imported history."""
    runs = work / f"runs-{name}"
    result: dict[str, Any] = dict(imported)
    new = sum(1 for _ in new_file.open(encoding="utf-8")) - 1
    result["new"] = new
    say(f"{name}: {new:,} new petitions into an empty database")
    result["ingest empty s"], _, result["ingest empty cpu s"] = _ingest(
        empty_url, [new_file], runs, alerts=True)
    token = admin_token(url)
    with serve(url, runs) as (base, pid):
        say(f"{name}: warming the server once (before the new batch)")
        time_endpoints(base, token)
        say(f"{name}: {new:,} new petitions into the large database (server running)")
        result["ingest large s"], _, result["ingest large cpu s"] = _ingest(
            url, [new_file], runs, alerts=True)
        result["ingest ratio"] = result["ingest large s"] / result["ingest empty s"]
        result["ingest cpu ratio"] = result["ingest large cpu s"] / result["ingest empty cpu s"]
        say(f"{name}: endpoints after the new batch")
        result["endpoints"] = time_endpoints(base, token)
        result["memory"] = memory_mb(pid)
    with serve(url, runs) as (base, pid):
        say(f"{name}: 20 concurrent clients on a cold server")
        result["concurrent"] = concurrent_cold(base, token)
        result["memory cold"] = memory_mb(pid)
    return result


def format_report(results: dict[str, dict[str, Any]]) -> str:
    """Return the figures as a Markdown table per backend, with the targets."""
    lines: list[str] = []
    for name, r in results.items():
        lines.append(f"\n### {name}: {r['stored']:,} petitions\n")
        lines.append(f"- labelled import: {r['import rows/s']:,.0f} rows/s ({r['import s']:.0f} s) "
                     f"— target ≥ {TARGETS['import rows/s']:,}"
                     + (f"; {r['import rows/cpu s']:,.0f} rows per CPU second"
                        if "import rows/cpu s" in r else ""))
        lines.append(f"- {r['new']:,} new petitions: {r['ingest empty s']:.1f} s into an empty "
                     "database, "
                     f"{r['ingest large s']:.1f} s into the large one (ratio "
                     f"{r['ingest ratio']:.2f}, target ≤ {TARGETS['ingest ratio']}); CPU "
                     f"{r['ingest empty cpu s']:.1f} s and {r['ingest large cpu s']:.1f} s "
                     f"(ratio {r['ingest cpu ratio']:.2f})")
        lines.append(f"- server memory after the calls: {r['memory']['rss']:.0f} MB, peak "
                     f"{r['memory']['peak']:.0f} MB (target < {TARGETS['rss MB']} MB)")
        c = r["concurrent"]
        lines.append(f"- 20 concurrent clients, cold server: {c['errors']} errors in "
                     f"{c['requests']} requests; peak {r['memory cold']['peak']:.0f} MB\n")
        lines.append("| call | cold (after new batch) | warm p50 | warm p95 |")
        lines.append("|---|---|---|---|")
        for call, t in r["endpoints"].items():
            lines.append(f"| {call} | {t['cold']:.2f} s | {t['p50'] * 1000:.0f} ms | "
                         f"{t['p95'] * 1000:.0f} ms |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--new", type=int, default=5000)
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--postgres", help="PostgreSQL server URL (default: a throw-away one)")
    parser.add_argument("--work", type=Path, help="folder kept after the run")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--resume", action="store_true",
                        help="SQLite: start from the copy of the imported history kept in --work "
                             "by an earlier run (its import figures too) instead of importing")
    args = parser.parse_args(argv)
    backends = args.backend or ["sqlite"]
    work = args.work or Path(tempfile.mkdtemp(prefix="tamtu-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    files = sorted((work / "history").glob("lich-su-*.csv"))
    if sum(1 for _ in files) * FILE_ROWS < args.rows:
        shutil.rmtree(work / "history", ignore_errors=True)
        say(f"writing {args.rows:,} labelled petitions")
        files = write_labelled(args.rows, work / "history")
    new_file = write_new(args.new, work / "moi.csv")
    results: dict[str, dict[str, Any]] = {}
    for backend in backends:
        if backend == "sqlite":
            built, large = work / "history.db", work / "large.db"
            for stale in [*work.glob("large.db*"), *work.glob("empty.db*")]:
                stale.unlink()
            if args.resume and built.exists():
                imported = json.loads((work / "import-SQLite.json").read_text(encoding="utf-8"))
                say(f"SQLite: resuming from {built} ({imported['stored']:,} petitions)")
            else:
                built.unlink(missing_ok=True)
                imported = labelled_import("SQLite", f"sqlite:///{built}", files, work)
            shutil.copyfile(built, large)  # the kept history is never changed by the run
            results["SQLite"] = run_backend(
                "SQLite", f"sqlite:///{large}", f"sqlite:///{work / 'empty.db'}", work,
                imported, new_file)
        else:
            with throughput.postgres(args.postgres) as (url, why):
                if url is None:
                    say(f"PostgreSQL skipped: {why}")
                    continue
                empty = _new_database(url, "tamtu_scale_empty")
                large = _new_database(url, "tamtu_scale_large")
                imported = labelled_import("PostgreSQL", large, files, work)
                results["PostgreSQL"] = run_backend("PostgreSQL", large, empty, work, imported,
                                                    new_file)
    print(format_report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _new_database(url: str, name: str) -> str:
    """Return the URL of a freshly created database on the server of `url`."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return str(sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False))


if __name__ == "__main__":
    raise SystemExit(main())
