"""What hot spots and emerging issues share: severities, argument checks, Vietnamese wording."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from pipeline.intake.normalize import fold_diacritics
from pipeline.monitor.trends import check_frame

SEVERITIES: tuple[str, ...] = ("low", "medium", "high")
SEVERITY_NAMES: dict[str, str] = {"low": "thấp", "medium": "trung bình", "high": "cao"}

# Below this much history a rate cannot be told from noise; only the first-ever rule runs.
MIN_HISTORY_DAYS = 28


class HotspotError(ValueError):
    """Hot-spot or emerging-issue detection was called with a bad argument."""


def area_matches(area: str, wanted: str) -> bool:
    """Return True when `wanted` is part of the area's name, ignoring case and diacritics."""
    return fold_diacritics(wanted.strip()) in fold_diacritics(area)


# ----------------------------------------------------------------------------------------------
# Vietnamese formatting


def format_number(value: float, decimals: int = 1) -> str:
    """Return a number the Vietnamese way: "1.234,5"; trailing ",0" dropped."""
    text = f"{value:,.{decimals}f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    if "," in text:
        text = text.rstrip("0").rstrip(",")
    return text


def format_rate(value: float) -> str:
    return format_number(value, 1 if value >= 0.095 else 2)


def format_ratio(value: float) -> str:
    return format_number(value, 0 if value >= 5 else 1)


def period_text(window_days: int, start: date, end: date) -> str:
    days = "7 ngày qua" if window_days == 7 else f"{window_days} ngày qua"
    if start == end:
        return f"{days} (ngày {end:%d/%m/%Y})"
    return f"{days} ({start:%d/%m}–{end:%d/%m/%Y})"


def per_window(window_days: int) -> str:
    return "tuần" if window_days == 7 else f"{window_days} ngày"


def signal_text(signals: dict[str, int]) -> str:
    parts = []
    if signals.get("mass"):
        parts.append(f"{signals['mass']} đơn tập thể, đông người")
    if signals.get("repeat"):
        parts.append(f"{signals['repeat']} đơn phản ánh nhiều lần, kéo dài")
    return "".join(f"; {part}" for part in parts)


def raise_severity(severity: str, steps: int) -> str:
    return SEVERITIES[min(len(SEVERITIES) - 1, SEVERITIES.index(severity) + steps)]


# ----------------------------------------------------------------------------------------------
# Shared checks


def check_common(frame: pd.DataFrame, as_of: Any, window_days: Any, history_days: Any) -> date:
    check_frame(frame)
    if isinstance(as_of, datetime):
        as_of = as_of.date()
    if not isinstance(as_of, date):
        raise HotspotError(f"as_of phải là một ngày (date), nhận được {type(as_of).__name__}")
    if not isinstance(window_days, int) or window_days < 1:
        raise HotspotError(f"window_days phải là số nguyên ≥ 1, nhận được {window_days!r}")
    if not isinstance(history_days, int) or history_days < window_days:
        raise HotspotError(
            f"history_days phải là số nguyên ≥ window_days ({window_days}), "
            f"nhận được {history_days!r}"
        )
    return as_of


def check_alpha(name: str, value: float) -> None:
    if not 0 < value < 1:
        raise HotspotError(f"{name} phải nằm trong khoảng (0, 1), nhận được {value!r}")


def dated_until(frame: pd.DataFrame, as_of: date) -> pd.DataFrame:
    received = frame["received_at"]
    return frame[received.notna() & (received <= pd.Timestamp(as_of))]


def day_offsets(received: pd.Series, window_start: date) -> np.ndarray:
    delta = received.to_numpy(dtype="datetime64[D]") - np.datetime64(window_start, "D")
    return delta.astype(np.int64)


def poisson_upper_tail(count: np.ndarray | int, mean: np.ndarray | float) -> np.ndarray:
    from scipy import stats

    return np.asarray(stats.poisson.sf(np.asarray(count) - 1, np.maximum(mean, 1e-9)))
