"""The one monitoring engine of the CLI and the API: counts, trends, detection and alerts.

Counts come from the aggregates the store keeps at ingest; petition rows are read only where
texts are needed. `Monitor` reuses results until the stored data version changes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa

from pipeline.config import Settings
from pipeline.monitor.alerts import (
    AlertChange,
    DeliveryReport,
    SmtpSettings,
    deliver_pending,
    evaluate_alerts,
    install_rules,
    load_rules_file,
)
from pipeline.monitor.counts import counts_frame
from pipeline.monitor.emerging import EmergingIssue, emerging_from_store
from pipeline.monitor.hotspots import (
    Hotspot,
    detect_from_counts,
    detection_limits,
    evidence_rows,
)
from pipeline.monitor.trends import Level, Period, TrendsError, petitions_frame, topic_trends
from pipeline.store import AlertStore, PetitionStore, petitions
from pipeline.store.aggregates import (
    UNDATED_DAY,
    current_version,
    read_counts,
    read_first_seen,
)
from pipeline.store.clusters import clustered_rows_between
from pipeline.store.schema import daily_counts
from pipeline.taxonomy import default_taxonomy

HISTORY_DAYS = 182
WINDOW_DAYS = 7
CACHE_ENTRIES = 64
BACKFILL_DAYS = 92  # a back-filled batch raises alerts for the hot spots of its last quarter


def latest_date(store: PetitionStore) -> date | None:
    """Return the newest received_at among stored petitions, or None when there are none."""
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.max(petitions.c.received_at))).scalar_one()


def data_extent(store: PetitionStore) -> tuple[date | None, date | None]:
    """Return the oldest and newest received dates of the stored counts (None, None if none)."""
    day = daily_counts.c.day
    query = sa.select(sa.func.min(day), sa.func.max(day)).where(day > UNDATED_DAY)
    with store.engine.connect() as conn:
        first, last = conn.execute(query).one()
    return first, last


def known_places(store: PetitionStore) -> pd.DataFrame:
    """Return the distinct places of the stored counts (area, village, commune, province)."""
    columns = [daily_counts.c[c] for c in ("area", "village", "commune", "province")]
    with store.engine.connect() as conn:
        frame = pd.read_sql_query(sa.select(*columns).distinct(), conn)
    return frame.astype("string")


def default_as_of(store: PetitionStore) -> date:
    """Return today, or the newest data date when the data stop earlier (monthly batches)."""
    today = datetime.now(UTC).date()
    newest = latest_date(store)
    return min(today, newest) if newest else today


def load_counts(store: PetitionStore, *, start: date | None = None, end: date | None = None,
                period: str = "day", undated: bool = True) -> pd.DataFrame:
    """Return the stored daily (or weekly, monthly) counts between two dates (counts frame)."""
    return counts_frame(read_counts(store.engine, start=start, end=end, period=period,
                                    undated=undated))


def load_frame(store: PetitionStore, *, start: date | None = None, end: date | None = None
               ) -> pd.DataFrame:
    """Return stored citizen petitions between two dates as a petitions frame (rows, texts).

    Only for what needs the texts: the evidence of a flagged cell, emerging issues' window,
    the report's annex. Counts come from `load_counts`.
    """
    return petitions_frame(store.petition_frame_rows(start=start, end=end))


def trends_table(store: PetitionStore, *, period: Period, level: Level,
                 topic: str | None = None, area: str | None = None,
                 source_type: str | None = None, signal: str | None = None,
                 start: date | None = None, end: date | None = None,
                 may_see_area: Callable[[str], bool] | None = None) -> pd.DataFrame:
    """Return `topic_trends` over the stored counts, summed per period in the database.

    `may_see_area` keeps only the cells of areas a caller may see (checked once per area).
    """
    if period not in ("day", "week", "month"):
        raise TrendsError(f"period='{period}' không hợp lệ; chọn một trong: day, week, month")
    counts = load_counts(store, start=start, end=end, period=period)
    if may_see_area is not None:
        allowed = {a for a in counts["area"].dropna().unique() if may_see_area(a)}
        counts = counts[counts["area"].isin(allowed)].reset_index(drop=True)
    return topic_trends(counts, period=period, level=level, topic=topic, area=area,
                        source_type=source_type, signal=signal)


def hotspots_on(store: PetitionStore, as_of: date, *, window_days: int = WINDOW_DAYS
                ) -> list[Hotspot]:
    """Return the hot spots on a date (replayable: data after as_of are ignored).

    The history is the stored daily counts and first-seen days. Petition rows are read for the
    window only and without their texts (areas, topics, signals, sender, near-duplicate
    cluster): the text evidence of each cell and the ids shown with a hot spot.
    """
    counts = load_counts(store, start=as_of - timedelta(days=HISTORY_DAYS + window_days),
                         end=as_of, undated=False)
    rows = clustered_rows_between(store.engine, as_of - timedelta(days=window_days - 1), as_of)
    window = petitions_frame(rows)
    clusters = {int(r["id"]): int(r["cluster"]) for r in rows if r["cluster"] is not None}
    return detect_from_counts(counts, as_of, first_seen=read_first_seen(store.engine),
                              evidence=evidence_rows(window, clusters), window_days=window_days,
                              history_days=HISTORY_DAYS)


def limits_on(store: PetitionStore, as_of: date, *, window_days: int = WINDOW_DAYS
              ) -> pd.DataFrame:
    """Return each cell's usual count, trigger count and smallest detectable spike on a date."""
    counts = load_counts(store, start=as_of - timedelta(days=HISTORY_DAYS + window_days),
                         end=as_of, undated=False)
    return detection_limits(counts, as_of, window_days=window_days, history_days=HISTORY_DAYS)


def emerging_on(store: PetitionStore, as_of: date, *, window_days: int = WINDOW_DAYS
                ) -> list[EmergingIssue]:
    """Return the emerging issues on a date (replayable): stored clusters and term counts."""
    return emerging_from_store(store, as_of, window_days=window_days, history_days=HISTORY_DAYS)


class Monitor:
    """Analysis results of one database, reused until its data version changes.

    The version is one row bumped in every write transaction, so several server processes
    (`tamtu serve --workers N`) each keep a cache that is never stale. Each question is
    computed once at a time: a second caller of the same question waits for the first.
    """

    def __init__(self, store: PetitionStore, *, entries: int = CACHE_ENTRIES) -> None:
        self.store = store
        self._entries = entries
        self._results: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._locks: dict[tuple[Any, ...], threading.Lock] = {}
        self._guard = threading.Lock()

    def version(self) -> int:
        """Return the stored data version (cheap: one row)."""
        return current_version(self.store.engine)

    def cached(self, name: str, params: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """Return compute() for this question and data version, computing it at most once."""
        key = (self.version(), name, params)
        with self._guard:
            if key in self._results:
                self._results.move_to_end(key)
                return self._results[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                if key in self._results:
                    return self._results[key]
            result = compute()
            with self._guard:
                self._results[key] = result
                while len(self._results) > self._entries:
                    self._results.popitem(last=False)
                self._locks.pop(key, None)
        return result

    def hotspots(self, as_of: date, *, window_days: int = WINDOW_DAYS) -> list[Hotspot]:
        """Return the hot spots on a date (cached per data version)."""
        return self.cached("hotspots", (as_of, window_days), lambda: hotspots_on(
            self.store, as_of, window_days=window_days))

    def limits(self, as_of: date, *, window_days: int = WINDOW_DAYS) -> pd.DataFrame:
        """Return `limits_on` for a date (cached per data version)."""
        return self.cached("limits", (as_of, window_days), lambda: limits_on(
            self.store, as_of, window_days=window_days))

    def emerging(self, as_of: date, *, window_days: int = WINDOW_DAYS) -> list[EmergingIssue]:
        """Return the emerging issues on a date (cached per data version)."""
        return self.cached("emerging", (as_of, window_days), lambda: emerging_on(
            self.store, as_of, window_days=window_days))

    def trends(self, **options: Any) -> pd.DataFrame:
        """Return `trends_table(store, **options)` (cached per data version and options).

        `may_see_area` is not part of the cache key: pass `scope` (a hashable description of
        the caller's areas) with it.
        """
        scope = options.pop("scope", None)
        params = (scope, *sorted((k, v) for k, v in options.items() if k != "may_see_area"))
        return self.cached("trends", params, lambda: trends_table(self.store, **options))

    def warm_up(self) -> None:
        """Compute today's hot spots and emerging issues ahead of the first dashboard visit."""
        day = default_as_of(self.store)
        self.hotspots(day)
        self.emerging(day)


def as_json(item: Hotspot | EmergingIssue) -> dict[str, Any]:
    """Return a hot spot or emerging issue as JSON-ready values (dates ISO 8601)."""
    data = asdict(item)
    for key, value in data.items():
        if isinstance(value, date):
            data[key] = value.isoformat()
        elif isinstance(value, tuple):
            data[key] = list(value)
    return data


def smtp_from(settings: Settings) -> SmtpSettings | None:
    """Return SMTP settings when a mail server is configured."""
    if not settings.smtp_host:
        return None
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpSettings(host=settings.smtp_host, port=settings.smtp_port,
                        sender=settings.smtp_sender, user=settings.smtp_user, password=password,
                        starttls=settings.smtp_starttls)


@dataclass(frozen=True)
class AlertRun:
    """What one evaluation did: the date used, hot spots seen, alert changes, deliveries."""

    as_of: date
    hotspots: int
    changes: list[AlertChange]
    delivery: DeliveryReport


def ensure_rules(settings: Settings, alert_store: AlertStore) -> None:
    """Install the default rules file the first time, when the database has no rule yet."""
    if not alert_store.list_rules() and settings.alert_rules_path.exists():
        rules = load_rules_file(settings.alert_rules_path,
                                known_topics=default_taxonomy().codes)
        install_rules(alert_store, rules)


def run_alerts(settings: Settings, store: PetitionStore, *, as_of: date | None = None,
               days: Iterable[date] = (), send: bool = True,
               monitor: Monitor | None = None) -> AlertRun:
    """Detect hot spots, update alert episodes and deliver what is due.

    The hot spots of `as_of` (default: the newest data date) are evaluated together with those
    of every day in `days` (the received dates an ingest touched, up to as_of, at most
    BACKFILL_DAYS back), so a batch of letters from last month raises the alerts of last
    month's hot spots too; older history is history, not an alert.
    """
    alert_store = AlertStore(store.engine)
    ensure_rules(settings, alert_store)
    day = as_of or default_as_of(store)
    detect = monitor.hotspots if monitor is not None else (
        lambda d: hotspots_on(store, d))
    spots = list(detect(day))
    oldest = day - timedelta(days=BACKFILL_DAYS)
    for touched in sorted({d for d in days if oldest <= d < day}):
        spots.extend(detect(touched))
    now = datetime.now(UTC)
    changes = evaluate_alerts(alert_store, spots, now,
                              close_after=timedelta(days=settings.alert_close_after_days))
    delivery = (
        deliver_pending(alert_store, now, smtp_settings=smtp_from(settings),
                        base_url=settings.public_base_url)
        if send else DeliveryReport()
    )
    return AlertRun(day, len({(s.topic, s.area) for s in spots}), changes, delivery)
