"""Synthetic petition counts with known rates and injected events, for calibrating hot spots.

A scenario is villages in communes with their own rates, a weekday pattern, holidays, slow
trends and (optionally) extra-Poisson variation per cell-week, plus injected spikes whose size,
days and text coherence are known. It gives the counts frame and the evidence rows that
`detect_from_counts` reads, and the true mean and variance of every cell-day, so an oracle can
be computed on the same data. Used by the tests and benchmarks/hotspots.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from pipeline.monitor.counts import counts_frame
from pipeline.monitor.hotspots import EVIDENCE_COLUMNS

TOPIC_MIX: dict[str, float] = {
    "land": 0.25, "environment": 0.12, "religion": 0.03, "policy": 0.25,
    "infrastructure": 0.2, "security": 0.07, "governance": 0.08,
}
WEEKDAY = np.array([1.4, 1.2, 1.1, 1.0, 1.0, 0.8, 0.5])
PROVINCE = "tỉnh Quảng Trị"


@dataclass(frozen=True)
class Event:
    """An injected event: `size` extra petitions in one village × topic over `days` days."""

    village: int
    topic: str
    start: date
    days: int
    size: int
    coherent: bool  # one near-duplicate group (same matter, different senders)


@dataclass(frozen=True)
class Scenario:
    """Generated counts, evidence rows and the truth behind them."""

    counts: pd.DataFrame  # counts frame
    evidence: pd.DataFrame  # EVIDENCE_COLUMNS, one row per petition
    mean: np.ndarray  # (villages, topics, days): true expected background count
    shape: np.ndarray  # (villages, topics, days): gamma shape of the week factor (inf: Poisson)
    start: date
    villages: list[str]  # area label of each village ("thôn X, xã Y")
    communes: list[str]  # commune label of each village
    topics: list[str]
    events: list[Event]


def village_name(i: int) -> str:
    return f"thôn Thử {i + 1}"


def commune_name(c: int) -> str:
    return f"xã Thử {c + 1}"


def generate(seed: int, *, start: date, days: int, villages: int = 30, communes: int = 3,
             rate_range: tuple[float, float] = (0.05, 1.5), cv: float = 0.41,
             events: list[Event] | tuple[Event, ...] = (), duplicate_share: float = 0.02,
             no_religion: int = 0) -> Scenario:
    """Return a scenario of `days` days from `start` (cv 0: a Poisson background).

    `no_religion` villages (the last ones) never write about religion in the background.
    `duplicate_share` of background petitions are a near duplicate of one another in their cell
    (the same person's letters sent twice, a neighbour copying a letter).
    """
    rng = np.random.default_rng(seed)
    topics = list(TOPIC_MIX)
    mix = np.array([TOPIC_MIX[t] for t in topics])
    low, high = np.log(rate_range[0]), np.log(rate_range[1])
    total = np.exp(rng.uniform(low, high, villages))
    base = total[:, None] * mix[None, :]
    if no_religion:
        base[villages - no_religion:, topics.index("religion")] = 0.0
    day_index = np.arange(days)
    weekday = np.array([(start + timedelta(days=int(d))).weekday() for d in day_index])
    pattern = WEEKDAY[weekday] / WEEKDAY.mean()
    holidays = np.ones(days)
    for first in rng.choice(max(days - 5, 1), size=max(1, days // 90), replace=False):
        holidays[first:first + 4] = 0.3
    trend = 1.0 + rng.uniform(-0.25, 0.25, villages)[:, None] * (day_index / days - 0.5)[None, :]
    mean = base[:, :, None] * (pattern * holidays)[None, None, :] * trend[:, None, :]
    weeks = days // 7 + 1
    if cv > 0:
        shape_value = 1.0 / cv**2
        factor = rng.gamma(shape_value, 1.0 / shape_value, (villages, len(topics), weeks))
        shape = np.full(mean.shape, shape_value)
    else:
        factor = np.ones((villages, len(topics), weeks))
        shape = np.full(mean.shape, np.inf)
    lam = mean * factor[:, :, day_index // 7]
    background = rng.poisson(lam)

    village_commune = [i * communes // villages for i in range(villages)]
    labels = [f"{village_name(i)}, {commune_name(village_commune[i])}" for i in range(villages)]
    rows: list[dict[str, object]] = []
    evidence: list[dict[str, object]] = []
    next_id = 1
    for v, t, d in zip(*np.nonzero(background), strict=True):
        n = int(background[v, t, d])
        day = start + timedelta(days=int(d))
        for _ in range(n):
            cluster = -next_id
            if rng.random() < duplicate_share and evidence:
                previous = evidence[-1]
                if previous["village"] == village_name(v) and previous["topic"] == topics[t]:
                    cluster = int(previous["cluster"])  # type: ignore[call-overload]
            evidence.append(_evidence(next_id, day, v, village_commune[v], topics[t], cluster))
            next_id += 1
        rows.append(_count_row(day, v, village_commune[v], topics[t], n))
    for number, event in enumerate(events):
        per_day = np.bincount(rng.integers(0, event.days, event.size), minlength=event.days)
        for offset, n in enumerate(per_day):
            if n == 0:
                continue
            day = event.start + timedelta(days=offset)
            for _ in range(int(n)):
                cluster = 10_000_000 + number if event.coherent else -next_id
                evidence.append(_evidence(next_id, day, event.village,
                                          village_commune[event.village], event.topic, cluster))
                next_id += 1
            rows.append(_count_row(day, event.village, village_commune[event.village],
                                   event.topic, int(n)))
    counts = counts_frame(rows)
    keys = ["day", "area", "village", "commune", "province", "source_type", "topic"]
    counts = counts_frame(counts.groupby(keys, sort=True)[["count", "mass", "repeat",
                                                           "escalated", "urgent"]]
                          .sum().reset_index())
    evidence_frame = pd.DataFrame(evidence, columns=list(EVIDENCE_COLUMNS))
    evidence_frame["day"] = pd.to_datetime(evidence_frame["day"])
    return Scenario(counts, evidence_frame, mean, shape, start, labels,
                    [commune_name(c) for c in village_commune], topics, list(events))


def _count_row(day: date, village: int, commune: int, topic: str, n: int) -> dict[str, object]:
    return {"day": day, "area": f"{village_name(village)}, {commune_name(commune)}",
            "village": village_name(village), "commune": commune_name(commune),
            "province": PROVINCE, "source_type": "petition", "topic": topic, "count": n,
            "mass": 0, "repeat": 0, "escalated": 0, "urgent": 0}


def _evidence(pid: int, day: date, village: int, commune: int, topic: str,
              cluster: int) -> dict[str, object]:
    return {"id": pid, "day": day, "village": village_name(village),
            "commune": commune_name(commune), "province": PROVINCE, "topic": topic,
            "cluster": cluster, "sender": f"#{pid}", "mass": False, "repeat": False}
