"""Shared by the CLI and the HTTP API: load stored petitions, detect, evaluate and send alerts."""

from __future__ import annotations

import threading
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
from pipeline.monitor.emerging import EmergingIssue, emerging_from_store
from pipeline.monitor.hotspots import Hotspot, detect_hotspots
from pipeline.monitor.trends import petitions_frame
from pipeline.store import AlertStore, PetitionStore, petitions
from pipeline.taxonomy import default_taxonomy

HISTORY_DAYS = 182
WINDOW_DAYS = 7


def latest_date(store: PetitionStore) -> date | None:
    """Return the newest received_at among stored petitions, or None when there are none."""
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.max(petitions.c.received_at))).scalar_one()


def default_as_of(store: PetitionStore) -> date:
    """Return today, or the newest data date when the data stop earlier (monthly batches)."""
    today = datetime.now(UTC).date()
    newest = latest_date(store)
    return min(today, newest) if newest else today


_FRAMES: dict[str, tuple[tuple[int, int], pd.DataFrame]] = {}
_FRAMES_LOCK = threading.Lock()


def _version(store: PetitionStore) -> tuple[int, int]:
    with store.engine.connect() as conn:
        count, newest = conn.execute(
            sa.select(sa.func.count(), sa.func.coalesce(sa.func.max(petitions.c.id), 0))
        ).one()
    return int(count), int(newest)


def load_frame(store: PetitionStore, *, start: date | None = None, end: date | None = None
               ) -> pd.DataFrame:
    """Return stored citizen petitions between two dates as the analysis frame.

    The whole frame is built once per state of the petitions table (count and newest id) and
    reused: the dashboard asks for trends, hot spots and emerging issues on every page load.
    """
    key = str(store.engine.url)
    version = _version(store)
    with _FRAMES_LOCK:
        cached = _FRAMES.get(key)
    if cached is None or cached[0] != version:
        frame = petitions_frame(store.petition_frame_rows())
        with _FRAMES_LOCK:
            _FRAMES[key] = (version, frame)
    else:
        frame = cached[1]
    if start is None and end is None:
        return frame
    days = pd.to_datetime(frame["received_at"])
    keep = days.notna()
    if start is not None:
        keep &= days >= pd.Timestamp(start)
    if end is not None:
        keep &= days <= pd.Timestamp(end)
    return frame[keep]


_RESULTS: dict[tuple[Any, ...], Any] = {}


def _cached(store: PetitionStore, name: str, as_of: date, window_days: int,
            compute: Any) -> Any:
    # Detection is a pure function of the stored data and the date: results are reused until
    # the petitions table changes (the dashboard asks on every page load).
    key = (str(store.engine.url), _version(store), name, as_of, window_days)
    with _FRAMES_LOCK:
        if key in _RESULTS:
            return _RESULTS[key]
    result = compute()
    with _FRAMES_LOCK:
        if len(_RESULTS) > 256:
            _RESULTS.clear()
        _RESULTS[key] = result
    return result


def hotspots_on(store: PetitionStore, as_of: date, *, window_days: int = WINDOW_DAYS
                ) -> list[Hotspot]:
    """Return the hot spots on a date (cached per state of the data)."""
    # The first-ever rule needs the whole history of a village, so load from the start.
    return _cached(store, "hotspots", as_of, window_days, lambda: detect_hotspots(
        load_frame(store, end=as_of), as_of, window_days=window_days,
        history_days=HISTORY_DAYS))


def emerging_on(store: PetitionStore, as_of: date, *, window_days: int = WINDOW_DAYS
                ) -> list[EmergingIssue]:
    """Return the emerging issues on a date (cached per state of the data)."""
    return _cached(store, "emerging", as_of, window_days, lambda: emerging_from_store(
        store, as_of, window_days=window_days, history_days=HISTORY_DAYS))


def warm_up(store: PetitionStore) -> None:
    """Compute today's hot spots and emerging issues ahead of the first dashboard visit."""
    day = default_as_of(store)
    hotspots_on(store, day)
    emerging_on(store, day)


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
               send: bool = True) -> AlertRun:
    """Detect hot spots, update alert episodes and deliver what is due."""
    alert_store = AlertStore(store.engine)
    ensure_rules(settings, alert_store)
    day = as_of or default_as_of(store)
    spots = hotspots_on(store, day)
    now = datetime.now(UTC)
    changes = evaluate_alerts(alert_store, spots, now,
                              close_after=timedelta(days=settings.alert_close_after_days))
    delivery = (
        deliver_pending(alert_store, now, smtp_settings=smtp_from(settings),
                        base_url=settings.public_base_url)
        if send else DeliveryReport()
    )
    return AlertRun(day, len(spots), changes, delivery)
