"""Measure hot-spot detection on generated petitions with injected spikes of known size.

Two generated data sets cover the same months: one with spikes (3, 5, 8 and 12 petitions in
a week, at known villages, topics and days), one without any. `detect_hotspots` runs once for
every day of the evaluation months, as a daily job would, and the script prints recall per
spike size, days from spike start to first detection, precision, false hot spots per commune
per month on the spike-free data, and the runtime. The topic of each record is the generator's
intended topic, so the figures measure detection alone, not the classifier.

    python benchmarks/hotspots.py            # quick: 3 warm-up + 3 evaluation months
    python benchmarks/hotspots.py --full     # 3 warm-up + 9 evaluation months
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.monitor.hotspots import Hotspot, detect_hotspots  # noqa: E402
from pipeline.monitor.trends import petitions_frame  # noqa: E402
from pipeline.text.places import resolve_place  # noqa: E402
from pipeline.text.signals import rule_signals  # noqa: E402

GENERATOR = ROOT / "data" / "samples" / "generate.py"
SIZES = (3, 5, 8, 12)
# Spikes go to non-religion topics: a religion petition in a new village is found by the
# first-ever rule whatever its size, which would say nothing about the count test.
TOPICS = ("land", "environment", "policy", "infrastructure", "security", "governance")
VILLAGES = ("Tân Mỹ", "Gio Mỹ", "Lai Phước", "Quảng Xá", "Thôn 5", "An Đức", "Mỹ Hội",
            "Đông Hòa", "Bình An", "Diêm Hải", "Cát Sơn", "Trung Lương", "Hòa Lý", "Thủy Ba")


def load_generator() -> ModuleType:
    """Return the sample generator module, loaded from its path."""
    if not GENERATOR.exists():
        raise SystemExit(f"không tìm thấy bộ sinh dữ liệu mẫu: {GENERATOR}")
    spec = importlib.util.spec_from_file_location("tamtu_sample_generator", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


def plan_spikes(gen: ModuleType, start: date, end: date) -> list[Any]:
    """Return spikes of every size spread over the evaluation months, one every 5 days."""
    spikes = []
    day, index = start + timedelta(days=3), 0
    while day + timedelta(days=13) <= end:
        spikes.append(gen.Spike(
            VILLAGES[index % len(VILLAGES)],
            # Shifted every round of sizes so that each size meets every topic.
            TOPICS[(index + index // len(SIZES)) % len(TOPICS)], day, 7,
            SIZES[index % len(SIZES)],
        ))
        day += timedelta(days=5)
        index += 1
    return spikes


def to_frame(records: list[dict[str, Any]]) -> Any:
    """Return the petition frame of generated records: topic from the generator, place from area."""
    rows = []
    for number, record in enumerate(records, start=1):
        # Only the metadata area places a petition here: the benchmark measures detection, not
        # place extraction from free text.
        place = resolve_place(record["area"], "") if record["area"] else None
        rows.append({
            "id": number, "received_at": record["received_at"],
            "area": place.area if place else None,
            "village": place.village if place else None,
            "commune": place.commune if place else None,
            "province": place.province if place else None,
            "source_type": record["source_type"], "topics": [record["topic"]],
            "signals": rule_signals(record["text"]), "sender_name": record["sender_name"],
            "text": record["text"],
        })
    return petitions_frame(rows)


@dataclass
class Episode:
    """Consecutive days on which one area × topic stayed a hot spot."""

    key: tuple[str, str, str, str]
    first: date
    last: date
    hotspots: list[Hotspot]


def run_days(frame: Any, start: date, end: date,
             **options: Any) -> tuple[list[tuple[date, Hotspot]], float]:
    """Return every (day, hot spot) of a daily run and the seconds per run."""
    found, day, runs = [], start, 0
    began = time.perf_counter()
    while day <= end:
        found.extend((day, h) for h in detect_hotspots(frame, day, **options))
        day += timedelta(days=1)
        runs += 1
    return found, (time.perf_counter() - began) / max(runs, 1)


def episodes(found: list[tuple[date, Hotspot]]) -> list[Episode]:
    """Return the detections merged into episodes (same key, at most one day apart)."""
    by_key: dict[tuple[str, str, str, str], list[tuple[date, Hotspot]]] = defaultdict(list)
    for day, h in found:
        by_key[(h.kind, h.level, h.area, h.topic)].append((day, h))
    result = []
    for key, items in by_key.items():
        items.sort(key=lambda item: item[0])
        current = Episode(key, items[0][0], items[0][0], [items[0][1]])
        for day, h in items[1:]:
            if (day - current.last).days <= 1:
                current.last, current.hotspots = day, [*current.hotspots, h]
            else:
                result.append(current)
                current = Episode(key, day, day, [h])
        result.append(current)
    return result


def matches(h: Hotspot, spike: Any) -> bool:
    """Return whether a hot spot points at an injected spike (its village, or its commune)."""
    if h.topic != spike.topic or h.window_end < spike.start or h.window_start > spike.end:
        return False
    if h.level == "commune":
        return True
    return h.area.split(",")[0].strip().casefold() == f"thôn {spike.village}".casefold().replace(
        "thôn thôn", "thôn")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="9 evaluation months instead of 3")
    parser.add_argument("--per-month", type=int, default=1500)
    parser.add_argument("--alpha", type=float, default=None, help="detect_hotspots alpha")
    parser.add_argument("--sensitive-alpha", type=float, default=None)
    parser.add_argument("--scan-windows", type=int, nargs="+", default=None,
                        help="detect_hotspots scan_windows, e.g. 3 7")
    args = parser.parse_args(argv)
    months = 9 if args.full else 3
    data_start = date(2024, 7, 1)
    eval_start = date(2024, 10, 1)
    eval_end = date(2024 + (9 + months) // 12, (9 + months) % 12 + 1, 1) - timedelta(days=1)

    began = time.perf_counter()
    gen = load_generator()
    spikes = plan_spikes(gen, eval_start, eval_end)
    with_spikes = gen.generate_records(data_start, eval_end, per_month=args.per_month,
                                       spikes=spikes, seed=42)
    without = gen.generate_records(data_start, eval_end, per_month=args.per_month,
                                   spikes=(), seed=4242)
    frame_spikes, frame_clean = to_frame(with_spikes), to_frame(without)
    prepared = time.perf_counter() - began
    options = {name: value for name, value in (("alpha", args.alpha),
               ("sensitive_alpha", args.sensitive_alpha), ("scan_windows", args.scan_windows))
               if value is not None}
    found, per_run = run_days(frame_spikes, eval_start, eval_end, **options)
    found_clean, per_run_clean = run_days(frame_clean, eval_start, eval_end, **options)

    # Recall and delay per spike size.
    print(f"Dữ liệu: {len(with_spikes):,} đơn có điểm nóng cài sẵn, {len(without):,} đơn không có; "
          f"đánh giá {eval_start} → {eval_end} ({months} tháng), {len(spikes)} điểm nóng cài sẵn")
    print(f"\n{'size':>5} {'spikes':>7} {'found ≤7d':>10} {'recall':>7} {'median delay':>13} "
          f"{'max delay':>10}")
    delays_by_size: dict[int, list[int | None]] = defaultdict(list)
    for spike in spikes:
        days = sorted(d for d, h in found if h.kind == "spike" and matches(h, spike))
        delays_by_size[spike.count].append((days[0] - spike.start).days if days else None)
    goal_recall = True
    for size in SIZES:
        delays = delays_by_size[size]
        hit = [d for d in delays if d is not None and d <= 7]
        recall = len(hit) / len(delays) if delays else float("nan")
        median = sorted(hit)[len(hit) // 2] if hit else None
        print(f"{size:>5} {len(delays):>7} {len(hit):>10} {recall:>7.0%} "
              f"{'-' if median is None else median:>13} {max(hit) if hit else '-':>10}")
        if size >= 5 and recall < 1:
            goal_recall = False

    spike_eps = [e for e in episodes(found) if e.key[0] == "spike"]
    true_eps = [e for e in spike_eps if any(matches(h, s) for h in e.hotspots for s in spikes)]
    precision = len(true_eps) / len(spike_eps) if spike_eps else float("nan")
    clean_eps = episodes(found_clean)
    false_spikes = [e for e in clean_eps if e.key[0] == "spike"]
    first_ever = [e for e in clean_eps if e.key[0] != "spike"]
    false_rate = len(false_spikes) / months  # one commune in the generated data
    print(f"\nprecision (episodes on data with spikes): {len(true_eps)}/{len(spike_eps)} = "
          f"{precision:.0%}")
    print(f"false hot spots on spike-free data: {len(false_spikes)} in {months} months = "
          f"{false_rate:.2f} per commune per month")
    for e in false_spikes[:10]:
        h = e.hotspots[0]
        print(f"   {e.first} … {e.last}  {h.level:<8} {h.area:<32} {h.topic:<15} "
              f"count={h.count} expected={h.expected:.2f} p={h.score:.1e}")
    print(f"first-ever religion hot spots on spike-free data (rule, not counted as false): "
          f"{len(first_ever)}")
    print(f"\nruntime: data {prepared:.1f} s; detect_hotspots {per_run * 1000:.0f} ms and "
          f"{per_run_clean * 1000:.0f} ms per day ({len(frame_spikes):,} petitions in the frame)")
    print(f"goal: every spike ≥ 5 found within 7 days: {'MET' if goal_recall else 'NOT MET'}")
    print(f"goal: < 1 false hot spot per commune per month: "
          f"{'MET' if false_rate < 1 else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
