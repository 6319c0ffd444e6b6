"""Measure the monthly report on a large month: generated petitions, ingested, then reported.

The sample generator writes `--per-month` petitions for every month of a year; the months before
June (`--history`, default 2) and June itself are ingested into a SQLite database of their own,
then `build_monthly_report` writes the June report while its progress steps are timed. The
month's hot spots and emerging issues are then evaluated twice more, in the same run: with the
month's reading shared by its days (`findings_over`, as the report does) and day by day as the
dashboard asks (`hotspots_on` and `emerging_on` for each day), and the ratio is printed. The
database is kept (`--db`), so a second run measures the report alone.

    python benchmarks/report.py                       # 20,000 petitions in June, 2 months before
    python benchmarks/report.py --per-month 5000 --history 1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _ingest(db: Path, per_month: int, history: int, year: int) -> dict[str, int]:
    with tempfile.TemporaryDirectory(prefix="tamtu-bench-report-") as folder:
        out = Path(folder)
        subprocess.run([sys.executable, str(ROOT / "data" / "samples" / "generate.py"), "--out",
                        str(out), "--per-month", str(per_month), "--year", str(year)],
                       check=True, stdout=subprocess.DEVNULL)
        files = [p for p in sorted(out.iterdir()) if p.suffix in (".csv", ".xlsx", ".docx")
                 and any(f"{year}-{m:02d}" in p.name for m in range(6 - history, 7))]
        started = time.perf_counter()
        result = subprocess.run(
            [str(Path(sys.executable).with_name("tamtu")), "ingest", *map(str, files), "--json"],
            check=True, capture_output=True, text=True, cwd=ROOT,
            env={**os.environ, "TAMTU_DATABASE_URL": f"sqlite:///{db}"},
        )
        report = json.loads(result.stdout)
        print(f"nhập {report['stored']} đơn từ {len(files)} tệp trong "
              f"{time.perf_counter() - started:.0f} giây", flush=True)
        return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-month", type=int, default=20000, help="số đơn mỗi tháng")
    parser.add_argument("--history", type=int, default=2, help="số tháng trước tháng 6")
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) /
                        "tamtu-bench-report.db", help="cơ sở dữ liệu SQLite (giữ lại)")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) /
                        "tamtu-bench-report.docx")
    args = parser.parse_args()
    if not args.db.exists():
        _ingest(args.db, args.per_month, args.history, args.year)

    os.environ["TAMTU_DATABASE_URL"] = f"sqlite:///{args.db}"
    from api.cli import open_store
    from api.report import build_monthly_report
    from pipeline.config import get_settings
    from pipeline.store import PetitionFilter, list_petitions

    store = open_store(get_settings())
    month = f"{args.year}-06"
    _, in_month = list_petitions(store.engine, PetitionFilter(
        start=date(args.year, 6, 1), end=date(args.year, 6, 30)), limit=1)
    phases: dict[str, float] = {}
    last = [time.perf_counter(), "Đọc dữ liệu"]

    def tell(step: str, done: int, total: int) -> None:
        name = step if not step.startswith("Xét điểm nóng") else "Xét điểm nóng từng ngày"
        now = time.perf_counter()
        phases[str(last[1])] = phases.get(str(last[1]), 0.0) + now - float(last[0])
        last[:] = [now, name]

    started = time.perf_counter()
    build_monthly_report(store, month, out=args.out, progress=tell)
    seconds = time.perf_counter() - started
    tell("xong", 1, 1)
    print(f"tháng 06/{args.year}: {in_month} đơn; báo cáo {args.out.stat().st_size // 1024} KB "
          f"trong {seconds:.1f} giây")
    for name, spent in phases.items():
        print(f"  {name}: {spent:.1f} giây")
    _compare_days(store, args.year)


def _compare_days(store: object, year: int) -> None:
    """Print the month's findings evaluated with shared reading and day by day, and the ratio."""
    from pipeline.monitor.engine import emerging_on, hotspots_on
    from pipeline.monitor.span import findings_over

    days = [date(year, 6, d) for d in range(1, 31)]
    started = time.perf_counter()
    shared = list(findings_over(store, days))  # type: ignore[arg-type]
    together = time.perf_counter() - started
    started = time.perf_counter()
    alone = [(hotspots_on(store, d), emerging_on(store, d)) for d in days]  # type: ignore[arg-type]
    apart = time.perf_counter() - started
    same = all(f.hotspots == h and f.emerging == e for f, (h, e) in zip(shared, alone, strict=True))
    print(f"điểm nóng và vấn đề mới nổi của 30 ngày: đọc chung {together:.1f} giây, "
          f"từng ngày riêng {apart:.1f} giây (nhanh hơn {apart / together:.1f} lần); "
          f"kết quả {'giống hệt' if same else 'KHÁC NHAU'}")


if __name__ == "__main__":
    main()
