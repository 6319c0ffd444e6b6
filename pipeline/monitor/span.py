"""Hot spots and emerging issues of every day of a span (a report's month), work shared by days.

Each day's answer is exactly what `engine.hotspots_on` and `engine.emerging_on` give for that
day. Instead of reading the store twice a day, the span reads once: the stored daily counts
from the first day's history to the last day, the first-seen days, the petitions of every
window with their texts and near-duplicate clusters, and, as days ask for them, the daily
counts of petitions, of cluster members and of terms over the span's history; each text's
syllables are encoded once. Each day then slices what it needs; the detectors are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from pipeline.monitor.emerging import REFERENCE_DAYS, EmergingIssue, TextCodes, detect_emerging
from pipeline.monitor.engine import HISTORY_DAYS, WINDOW_DAYS, load_counts
from pipeline.monitor.hotspots import Hotspot, detect_from_counts, evidence_rows
from pipeline.monitor.trends import petitions_frame
from pipeline.store import PetitionStore, petitions
from pipeline.store.aggregates import read_first_seen
from pipeline.store.clusters import StoredEmergingHistory, cluster_ids
from pipeline.store.schema import near_duplicate_clusters, term_days

SpanProgress = Callable[[date, int, int], None]


@dataclass(frozen=True)
class DayFindings:
    """The hot spots and emerging issues of one day, as the dashboard shows them that day."""

    day: date
    hotspots: list[Hotspot]
    emerging: list[EmergingIssue]


class _DailySeries:
    """Sums over inclusive day ranges of per-key daily counts, read once per key."""

    def __init__(self, start: date, end: date) -> None:
        self.start, self.end = start, end
        self._days: dict[object, np.ndarray] = {}
        self._cumulative: dict[object, np.ndarray] = {}

    def missing(self, keys: Sequence[object]) -> list[object]:
        return sorted({k for k in keys if k not in self._days}, key=str)

    def add(self, key: object, pairs: Sequence[tuple[date, int]]) -> None:
        ordered = sorted(pairs)
        self._days[key] = np.asarray([d.toordinal() for d, _ in ordered], dtype=np.int64)
        self._cumulative[key] = np.concatenate(
            ([0], np.cumsum([n for _, n in ordered], dtype=np.int64)))

    def total(self, key: object, start: date, end: date) -> int:
        days, cumulative = self._days[key], self._cumulative[key]
        low = np.searchsorted(days, start.toordinal(), side="left")
        high = np.searchsorted(days, end.toordinal(), side="right")
        return int(cumulative[high] - cumulative[low])

    def covers(self, start: date, end: date) -> bool:
        return self.start <= start and end <= self.end


_CITIZEN = petitions.c.is_response.is_(False)
_CHUNK = 500


class SpanHistory:
    """`EmergingHistory` over stored data, answered from daily counts read once per key.

    Ranges inside [start, end] are summed from the cached days; any other range is asked of
    the store directly, so every answer equals `StoredEmergingHistory`'s.
    """

    def __init__(self, store: PetitionStore, start: date, end: date) -> None:
        self.engine = store.engine
        self.stored = StoredEmergingHistory(store.engine)
        self._first_day = self.stored.first_day()
        self._petitions = _DailySeries(start, end)
        self._clusters = _DailySeries(start, end)
        self._terms = _DailySeries(start, end)
        query = (sa.select(petitions.c.received_at, sa.func.count())
                 .where(_CITIZEN, petitions.c.received_at >= start,
                        petitions.c.received_at <= end)
                 .group_by(petitions.c.received_at))
        with self.engine.connect() as conn:
            self._petitions.add("", [(d, int(n)) for d, n in conn.execute(query)])

    def first_day(self) -> date | None:
        return self._first_day

    def petitions_between(self, start: date, end: date) -> int:
        if not self._petitions.covers(start, end):
            return self.stored.petitions_between(start, end)
        return self._petitions.total("", start, end)

    def cluster_members_between(self, clusters: Sequence[int], start: date, end: date
                                ) -> dict[int, int]:
        if not self._clusters.covers(start, end):
            return self.stored.cluster_members_between(clusters, start, end)
        self._read(self._clusters, near_duplicate_clusters.c.cluster_id, clusters, lambda chunk: (
            sa.select(near_duplicate_clusters.c.cluster_id, petitions.c.received_at,
                      sa.func.count())
            .join(petitions, petitions.c.id == near_duplicate_clusters.c.petition_id)
            .where(_CITIZEN, petitions.c.received_at >= self._clusters.start,
                   petitions.c.received_at <= self._clusters.end,
                   near_duplicate_clusters.c.cluster_id.in_(chunk))
            .group_by(near_duplicate_clusters.c.cluster_id, petitions.c.received_at)))
        found = {int(c): self._clusters.total(int(c), start, end) for c in set(clusters)}
        return {c: n for c, n in found.items() if n}

    def term_petitions_between(self, terms: Sequence[str], start: date, end: date
                               ) -> dict[str, int]:
        if not self._terms.covers(start, end):
            return self.stored.term_petitions_between(terms, start, end)
        self._read(self._terms, term_days.c.term, terms, lambda chunk: (
            sa.select(term_days.c.term, term_days.c.day, sa.func.sum(term_days.c.petitions))
            .where(term_days.c.day >= self._terms.start, term_days.c.day <= self._terms.end,
                   term_days.c.term.in_(chunk))
            .group_by(term_days.c.term, term_days.c.day)))
        found = {t: self._terms.total(t, start, end) for t in set(terms)}
        return {t: n for t, n in found.items() if n}

    def _read(self, series: _DailySeries, key: sa.ColumnElement[object],
              wanted: Sequence[object], query: Callable[[list[object]], sa.Select[object]]
              ) -> None:
        missing = series.missing(list(wanted))
        pairs: dict[object, list[tuple[date, int]]] = {k: [] for k in missing}
        with self.engine.connect() as conn:
            for at in range(0, len(missing), _CHUNK):
                for found, day, count in conn.execute(query(missing[at:at + _CHUNK])):
                    pairs[found].append((day, int(count)))
        for found, days in pairs.items():
            series.add(found, days)


def findings_over(store: PetitionStore, days: Sequence[date], *,
                  window_days: int = WINDOW_DAYS, progress: SpanProgress | None = None
                  ) -> Iterator[DayFindings]:
    """Yield the hot spots and emerging issues of each day of `days` (oldest first).

    Equal, day by day, to `hotspots_on(store, day)` and `emerging_on(store, day)`.
    `progress(day, done, total)` hears each day before it is evaluated.
    """
    if not days:
        return
    ordered = sorted(set(days))
    first, last = ordered[0], ordered[-1]
    lead = timedelta(days=max(1, window_days) - 1)
    counts = load_counts(store, start=first - timedelta(days=HISTORY_DAYS + window_days),
                         end=last, undated=False)
    first_seen = read_first_seen(store.engine)
    rows = store.petition_frame_rows(start=first - lead, end=last)
    frame = petitions_frame(rows)
    clusters = cluster_ids(store.engine, [int(i) for i in frame["id"]])
    evidence = evidence_rows(frame, clusters)
    frame = frame.assign(cluster_id=[clusters.get(int(i), int(i)) for i in frame["id"]])
    received = frame["received_at"]
    counted = counts["day"]
    codes = TextCodes()
    history = SpanHistory(store, first - lead - timedelta(days=HISTORY_DAYS + REFERENCE_DAYS),
                          last - lead - timedelta(days=1))
    for done, day in enumerate(ordered, start=1):
        if progress is not None:
            progress(day, done, len(ordered))
        # The rows `hotspots_on` reads for this day: its history's first day matters.
        since = pd.Timestamp(day - timedelta(days=HISTORY_DAYS + window_days))
        cells = counts[((counted >= since) & (counted <= pd.Timestamp(day))).to_numpy()]
        cells = cells.reset_index(drop=True)
        spots = detect_from_counts(cells, day, first_seen=first_seen, evidence=evidence,
                                   window_days=window_days, history_days=HISTORY_DAYS)
        inside = (received >= pd.Timestamp(day - lead)) & (received <= pd.Timestamp(day))
        window = frame[inside.to_numpy()].reset_index(drop=True)
        issues = detect_emerging(window, day, history=history, window_days=window_days,
                                 history_days=HISTORY_DAYS, text_codes=codes)
        yield DayFindings(day, spots, issues)
