"""Measure hot-spot detection against an oracle that knows the true rates, on known events.

Each run generates villages in communes (pipeline.monitor.scenario) with village-specific rates,
a weekday pattern, holidays and slow trends, on two backgrounds: overdispersed (a gamma factor
per cell-week, coefficient of variation 0.41) and Poisson. Into a copy it injects spikes of 5,
8 and 12 petitions spread over 4–7 days (no common text), text-coherent spikes of 4 petitions
(one near-duplicate group from different senders; three in ten in the busiest cells), and the
first religion petition of villages that never wrote about religion. `detect_from_counts` runs
every day of the evaluation weeks, as the daily job does; the oracle (true mean and variance,
NB2 tail over the same 3- and 7-day windows, the same budget) runs on the same data. The script
prints false hot spots per commune per month on the event-free copy (with a 95 % interval),
recall per spike size with the oracle's, days to first detection, and the text and religion
targets.

    python benchmarks/hotspots.py              # 3 seeds × 2 backgrounds
    python benchmarks/hotspots.py --seeds 6
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.monitor.counts import first_seen_from_counts  # noqa: E402
from pipeline.monitor.hotspot_model import DAYS_PER_MONTH, upper_tail  # noqa: E402
from pipeline.monitor.hotspots import Hotspot, detect_from_counts  # noqa: E402
from pipeline.monitor.scenario import Event, Scenario, generate  # noqa: E402

START = date(2024, 1, 1)
HISTORY = 182 + 28
EVAL_DAYS = 112  # 16 weeks
VILLAGES, COMMUNES = 30, 3
SIZES = (5, 8, 12)
COHERENT_SIZE = 4
PER_SIZE = 10
BUSY_COHERENT = 3  # of the PER_SIZE text-coherent spikes of a run
NO_RELIGION = 6
TOPICS = ("land", "environment", "policy", "infrastructure", "security", "governance")
BACKGROUNDS = {"overdispersed": 0.41, "Poisson": 0.0}
BUDGET = 1.0
WINDOWS = (3, 7)


def plan_events(seed: int, mean: np.ndarray, topics: list[str]) -> list[Event]:
    """Return the events of one run: spikes at distinct cells, first religion petitions.

    `mean` is the background's true daily mean (villages, topics, days). Count spikes go to
    cells drawn at random (most cells are quiet, as in a commune); BUSY_COHERENT of the
    text-coherent spikes go to the busiest cells, where counts alone cannot see them.
    """
    rng = np.random.default_rng(10_000 + seed)
    cells = [(v, t) for v in range(VILLAGES) for t in TOPICS]
    weekly = np.array([mean[v, topics.index(t), HISTORY - 28:HISTORY].sum() / 4
                       for v, t in cells])
    busy = [cells[i] for i in np.argsort(-weekly)[:BUSY_COHERENT]]
    rest = [cells[i] for i in rng.permutation(len(cells)) if cells[i] not in busy]
    plan = [(size, False) for size in SIZES for _ in range(PER_SIZE)]
    plan += [(COHERENT_SIZE, True)] * (PER_SIZE - BUSY_COHERENT)
    chosen = rest[:len(plan)] + busy
    plan += [(COHERENT_SIZE, True)] * BUSY_COHERENT
    events = []
    eval_start = START + timedelta(days=HISTORY)
    for (size, coherent), (v, topic) in zip(plan, chosen, strict=True):
        day = eval_start + timedelta(days=int(rng.integers(0, EVAL_DAYS - 14)))
        events.append(Event(v, topic, day, int(rng.integers(4, 8)), size, coherent))
    for v in range(VILLAGES - NO_RELIGION, VILLAGES):
        day = eval_start + timedelta(days=int(rng.integers(0, EVAL_DAYS - 7)))
        events.append(Event(v, "religion", day, 1, 1, False))
    return events


def run_detector(scenario: Scenario) -> tuple[list[tuple[date, Hotspot]], float]:
    """Return every (day, hot spot) of a daily run over the evaluation weeks, and s per run."""
    first_seen = first_seen_from_counts(scenario.counts)
    found = []
    began = time.perf_counter()
    for offset in range(EVAL_DAYS):
        day = START + timedelta(days=HISTORY + offset)
        found.extend((day, h) for h in detect_from_counts(
            scenario.counts, day, first_seen=first_seen, evidence=scenario.evidence,
            budget=BUDGET))
    return found, (time.perf_counter() - began) / EVAL_DAYS


def oracle_flags(scenario: Scenario) -> np.ndarray:
    """Return (villages, topics, days) flags of the oracle at village level (the same budget).

    The oracle knows each cell-day's true mean and the week factor's shape: a window's
    variance is μ + Σ_weeks μ_week² / shape. Its threshold is the budget shared over the
    villages' cells of a commune, Bonferroni over the two windows.
    """
    observed = np.zeros(scenario.mean.shape)
    index = {name: i for i, name in enumerate(scenario.villages)}
    topic_index = {t: i for i, t in enumerate(scenario.topics)}
    counts = scenario.counts
    d = (counts["day"] - np.datetime64(START)).dt.days.to_numpy()
    v = counts["area"].map(index).to_numpy()
    t = counts["topic"].map(topic_index).to_numpy()
    np.add.at(observed, (v, t, d), counts["count"].to_numpy(dtype=float))
    n_days = observed.shape[2]
    cells = scenario.mean.shape[0] * scenario.mean.shape[1] / COMMUNES
    alpha = BUDGET / DAYS_PER_MONTH / cells / len(WINDOWS)
    best = np.ones(observed.shape)
    week = np.arange(n_days) // 7
    for length in WINDOWS:
        for end in range(length - 1, n_days):
            days = slice(end - length + 1, end + 1)
            mu = scenario.mean[:, :, days].sum(axis=2)
            weeks = week[days]
            squared = sum((scenario.mean[:, :, days][:, :, weeks == w].sum(axis=2)) ** 2
                          for w in np.unique(weeks))
            with np.errstate(divide="ignore", invalid="ignore"):
                extra = np.where(np.isinf(scenario.shape[:, :, end]), 0.0,
                                 squared / scenario.shape[:, :, end])
            size = np.where(extra > 0, mu**2 / np.maximum(extra, 1e-12), 1e12)
            count = observed[:, :, days].sum(axis=2)
            p = np.where(count >= 3, upper_tail(count, mu, size), 1.0)
            best[:, :, end] = np.minimum(best[:, :, end], p)
    return best <= alpha


def episodes(flags: dict[tuple[str, str, str], list[date]]) -> int:
    """Return the number of runs of consecutive days over all keys."""
    total = 0
    for days in flags.values():
        days = sorted(set(days))
        total += 1 + sum((b - a).days > 1 for a, b in zip(days, days[1:], strict=False))
    return total


def detector_false(found: list[tuple[date, Hotspot]]) -> int:
    flags: dict[tuple[str, str, str], list[date]] = defaultdict(list)
    for day, h in found:
        if h.kind == "spike":
            flags[(h.level, h.area, h.topic)].append(day)
    return episodes(flags)


def oracle_false(flags: np.ndarray) -> int:
    keyed: dict[tuple[str, str, str], list[date]] = defaultdict(list)
    for v, t, d in zip(*np.nonzero(flags[:, :, HISTORY:HISTORY + EVAL_DAYS]), strict=True):
        keyed[("village", str(v), str(t))].append(START + timedelta(days=HISTORY + int(d)))
    return episodes(keyed)


def delay(found: list[tuple[date, Hotspot]], scenario: Scenario, event: Event) -> int | None:
    """Return days from the event's start to the detector's first hot spot on it, or None."""
    village = scenario.villages[event.village]
    commune = scenario.communes[event.village]
    religion = event.topic == "religion"
    days = [day for day, h in found if day >= event.start and h.topic == event.topic
            and (day - event.start).days <= 7
            and ((h.level == "village" and h.area == village)
                 or (h.level == "commune" and h.area == commune and not religion))]
    return (min(days) - event.start).days if days else None


def oracle_delay(flags: np.ndarray, scenario: Scenario, event: Event) -> int | None:
    first = (event.start - START).days
    row = flags[event.village, scenario.topics.index(event.topic), first:first + 8]
    hits = np.nonzero(row)[0]
    return int(hits[0]) if len(hits) else None


def poisson_interval(count: int, exposure: float) -> tuple[float, float]:
    """Return the exact 95 % interval of a Poisson rate (count events over exposure)."""
    from scipy import stats

    low = stats.chi2.ppf(0.025, 2 * count) / 2 if count else 0.0
    high = stats.chi2.ppf(0.975, 2 * count + 2) / 2
    return low / exposure, high / exposure


def cell_kind(scenario: Scenario, event: Event) -> str:
    first = (event.start - START).days
    weekly = scenario.mean[event.village, scenario.topics.index(event.topic),
                           first - 28:first].sum() / 4
    return "quiet" if weekly < 0.5 else "busy" if weekly > 2 else "ordinary"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its tables; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    commune_months = args.seeds * COMMUNES * EVAL_DAYS / DAYS_PER_MONTH
    print(f"{VILLAGES} thôn / {COMMUNES} xã, {EVAL_DAYS // 7} tuần đánh giá sau {HISTORY} ngày "
          f"lịch sử, {args.seeds} seed; ngân sách {BUDGET:g} điểm nóng sai / xã / tháng")
    targets_met = True
    for name, cv in BACKGROUNDS.items():
        stats: dict[str, Any] = defaultdict(list)
        false_det = false_oracle = 0
        runtimes = []
        for seed in range(args.seeds):
            common = {"start": START, "days": HISTORY + EVAL_DAYS, "villages": VILLAGES,
                      "communes": COMMUNES, "cv": cv, "no_religion": NO_RELIGION}
            clean = generate(seed, **common)
            events = plan_events(seed, clean.mean, clean.topics)
            spiked = generate(seed, events=events, **common)
            found_clean, _ = run_detector(clean)
            found, per_run = run_detector(spiked)
            runtimes.append(per_run)
            false_det += detector_false(found_clean)
            false_oracle += oracle_false(oracle_flags(clean))
            flags = oracle_flags(spiked)
            for event in events:
                got = delay(found, spiked, event)
                if event.topic == "religion":
                    stats["religion"].append(got)
                    continue
                key = ("coherent" if event.coherent else "count", event.size)
                stats[key].append((got, oracle_delay(flags, spiked, event),
                                   cell_kind(spiked, event)))
        low, high = poisson_interval(false_det, commune_months)
        o_low, o_high = poisson_interval(false_oracle, commune_months)
        print(f"\n## Nền {name} (cv {cv})")
        print(f"điểm nóng sai / xã / tháng: {false_det / commune_months:.2f} "
              f"(95 %: {low:.2f}–{high:.2f}); oracle {false_oracle / commune_months:.2f} "
              f"({o_low:.2f}–{o_high:.2f})")
        targets_met &= high <= 1.0
        print("| đợt tăng | số | phát hiện ≤ 7 ngày | oracle | tỉ lệ so với oracle "
              "| trung vị ngày | ô vắng / thường / đông |")
        print("|---|---|---|---|---|---|---|")
        for size in SIZES:
            rows = stats[("count", size)]
            hit = [r for r in rows if r[0] is not None]
            oracle_hit = [r for r in rows if r[1] is not None]
            recall, oracle = len(hit) / len(rows), len(oracle_hit) / len(rows)
            by_kind = " / ".join(
                f"{sum(1 for r in hit if r[2] == k)}/{sum(1 for r in rows if r[2] == k)}"
                for k in ("quiet", "ordinary", "busy"))
            median = statistics.median(r[0] for r in hit) if hit else float("nan")
            ratio = recall / oracle if oracle else float("nan")
            targets_met &= not oracle or ratio >= 0.9
            print(f"| {size} đơn | {len(rows)} | {recall:.0%} | {oracle:.0%} | {ratio:.2f} "
                  f"| {median:g} | {by_kind} |")
        rows = stats[("coherent", COHERENT_SIZE)]
        within = sum(1 for r in rows if r[0] is not None and r[0] <= 3)
        busy = [r for r in rows if r[2] == "busy"]
        print(f"nhóm {COHERENT_SIZE} đơn gần trùng nội dung: {within}/{len(rows)} trong ≤ 3 ngày "
              f"({within / len(rows):.0%}; ô đông: "
              f"{sum(1 for r in busy if r[0] is not None and r[0] <= 3)}/{len(busy)}); "
              f"oracle theo số đếm: {sum(1 for r in rows if r[1] is not None)}/{len(rows)}")
        targets_met &= within >= 0.9 * len(rows)
        religion = stats["religion"]
        in_two = sum(1 for r in religion if r is not None and r <= 2)
        print(f"đơn tôn giáo đầu tiên ở thôn: {in_two}/{len(religion)} trong ≤ 2 ngày")
        targets_met &= in_two == len(religion)
        print(f"thời gian: {statistics.mean(runtimes) * 1000:.0f} ms / ngày chạy")
    print(f"\nmục tiêu của issue: {'ĐẠT' if targets_met else 'CHƯA ĐẠT (xem các dòng trên)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
