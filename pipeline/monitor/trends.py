"""Counts of citizen petitions per period × area × topic, as DataFrames with fixed columns.

`petitions_frame` turns the rows of `PetitionStore.petition_frame_rows()` into a DataFrame with
fixed dtypes; `topic_trends` counts it per period and compares each period with the one before
and with the same period a year earlier. Hot-spot detection (monitor.hotspots) reads the same
frame.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, Literal

import pandas as pd

from pipeline.intake.normalize import fold_diacritics
from pipeline.monitor.counts import COUNTS_FRAME_COLUMNS, counts_from_petitions
from pipeline.taxonomy import OTHER, Taxonomy, default_taxonomy
from pipeline.text.signals import SIGNALS, UNKNOWN_AREA

Period = Literal["day", "week", "month"]
Level = Literal["village", "commune", "province", "all"]

PERIODS: tuple[str, ...] = ("day", "week", "month")
LEVELS: tuple[str, ...] = ("village", "commune", "province", "all")
ALL_AREAS = "tất cả"
ALL_SOURCES = "all"

FRAME_COLUMNS: tuple[str, ...] = (
    "id", "received_at", "area", "village", "commune", "province", "source_type",
    "topics", "signals", "sender_name", "text",
)
TREND_COLUMNS: tuple[str, ...] = (
    "period_start", "area", "topic", "source_type", "count", "previous_count",
    "change_vs_previous", "last_year_count", "change_vs_last_year",
)
_TEXT_COLUMNS = ("area", "village", "commune", "province", "source_type", "sender_name", "text")


class TrendsError(ValueError):
    """A trend was asked with a bad argument or a frame without the expected columns."""


def petitions_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Return petitions as a DataFrame with fixed columns and dtypes (see FRAME_COLUMNS).

    Dtypes: `id` int64; `received_at` datetime64[ns] (NaT when the date is unknown); text
    columns pandas "string" (NA when unknown; `area` is "chưa xác định" when unknown);
    `topics` and `signals` tuples of codes (`("other",)` when a petition has no topic).
    """
    records = []
    for row in rows:
        topics = tuple(row.get("topics") or ()) or (OTHER,)
        records.append({
            "id": int(row["id"]),
            "received_at": row.get("received_at"),
            "area": row.get("area") or UNKNOWN_AREA,
            "village": row.get("village"),
            "commune": row.get("commune"),
            "province": row.get("province"),
            "source_type": row.get("source_type") or "feedback",
            "topics": topics,
            "signals": tuple(row.get("signals") or ()),
            "sender_name": row.get("sender_name"),
            "text": row.get("text") or "",
        })
    frame = pd.DataFrame.from_records(records, columns=list(FRAME_COLUMNS))
    frame["id"] = frame["id"].astype("int64")
    frame["received_at"] = pd.to_datetime(frame["received_at"]).astype("datetime64[ns]")
    for column in _TEXT_COLUMNS:
        frame[column] = frame[column].astype("string")
    frame["topics"] = frame["topics"].astype(object)
    frame["signals"] = frame["signals"].astype(object)
    return frame


def check_frame(frame: pd.DataFrame) -> None:
    """Return None for a frame of `petitions_frame` or `counts.counts_frame`; else TrendsError."""
    if not isinstance(frame, pd.DataFrame):
        raise TrendsError(
            f"cần một DataFrame do petitions_frame() tạo ra, nhận được {type(frame).__name__}"
        )
    if "count" in frame.columns and "day" in frame.columns:
        missing = [c for c in COUNTS_FRAME_COLUMNS if c not in frame.columns]
        if missing:
            raise TrendsError(f"bảng số đếm thiếu cột: {', '.join(missing)}")
        if len(frame) and not pd.api.types.is_datetime64_any_dtype(frame["day"]):
            raise TrendsError("cột day phải có kiểu ngày (hãy dùng counts_frame())")
        return
    missing = [c for c in FRAME_COLUMNS if c not in frame.columns]
    if missing:
        raise TrendsError(f"bảng đơn thiếu cột: {', '.join(missing)} (hãy dùng petitions_frame())")
    if len(frame) and not pd.api.types.is_datetime64_any_dtype(frame["received_at"]):
        raise TrendsError("cột received_at phải có kiểu ngày (hãy dùng petitions_frame())")


def area_labels(frame: pd.DataFrame, level: Level) -> pd.Series:
    """Return the area of each petition at a level; "chưa xác định" when that level is unknown.

    village → "thôn X, xã Y" (the commune kept because village names repeat across communes);
    commune → "xã Y"; province → "tỉnh Z"; all → "tất cả".
    """
    if level == "all":
        return pd.Series(ALL_AREAS, index=frame.index, dtype="string")
    if level == "village":
        village = frame["village"].str.strip()
        commune = frame["commune"].str.strip()
        label = village.where(commune.isna() | (commune == ""), village + ", " + commune)
        return label.where(village.notna() & (village != ""), UNKNOWN_AREA).astype("string")
    column = frame[level].str.strip()
    return column.where(column.notna() & (column != ""), UNKNOWN_AREA).astype("string")


def period_starts(days: pd.Series, period: Period) -> pd.Series:
    """Return the first day of the period (day, ISO week from Monday, month) of each timestamp."""
    days = days.dt.normalize()
    if period == "day":
        return days
    if period == "week":
        return days - pd.to_timedelta(days.dt.day_of_week, unit="D")
    return days.dt.to_period("M").dt.start_time


def _check_choice(value: Any, allowed: Sequence[str], name: str) -> None:
    if value not in allowed:
        raise TrendsError(f"{name}='{value}' không hợp lệ; chọn một trong: {', '.join(allowed)}")


def _as_set(value: str | Iterable[str] | None, name: str) -> set[str] | None:
    if value is None:
        return None
    values = {value} if isinstance(value, str) else set(value)
    if not values or any(not isinstance(v, str) or not v.strip() for v in values):
        raise TrendsError(f"{name} phải là một chuỗi không rỗng hoặc danh sách chuỗi")
    return values


def topic_trends(
    frame: pd.DataFrame,
    *,
    period: Period,
    level: Level,
    topic: str | Iterable[str] | None = None,
    area: str | None = None,
    source_type: str | Iterable[str] | None = None,
    signal: str | None = None,
    by_source_type: bool = False,
    taxonomy: Taxonomy | None = None,
) -> pd.DataFrame:
    """Return petition counts per period × area × topic with changes (columns: TREND_COLUMNS).

    Columns, one row per (period_start, area, topic, source_type):
      period_start (datetime.date): first day of the day / ISO week (Monday) / month.
      area (str): the area at `level` (see `area_labels`); "tất cả" for level="all".
      topic (str): topic code. Multi-label: a petition counts once in each of its topics.
      source_type (str): "all" unless `by_source_type=True` breaks counts down by source type.
      count (int): petitions in the period.
      previous_count (Int64): count in the period just before; NA for the first period of data.
      change_vs_previous (Float64): count / previous_count; NA when previous_count is 0 or NA.
      last_year_count (Int64): count in the same period a year earlier (same date, the ISO week
        52 weeks before, same month); NA when the data do not reach back that far.
      change_vs_last_year (Float64): count / last_year_count; NA when that is 0 or NA.

    The grid is dense: every (area, topic, source_type) seen at least once gets a row for every
    period from the frame's first to its last dated petition, with zeros where nothing arrived.
    Filters: `topic` and `source_type` keep petitions with that code (one or several); `area`
    keeps petitions whose area label at `level`, or whose village / commune / province, equals
    it (case-insensitive); `signal` keeps petitions carrying that signal (mass, repeat, ...).
    Petitions without a date are left out of the series; their count (after filters) is in
    `result.attrs["undated"]`.
    """
    check_frame(frame)
    _check_choice(period, PERIODS, "period")
    _check_choice(level, LEVELS, "level")
    taxonomy = taxonomy or default_taxonomy()
    topics = _as_set(topic, "topic")
    known = (*taxonomy.codes, taxonomy.other.code)
    if topics is not None and not topics <= set(known):
        unknown = ", ".join(sorted(topics - set(known)))
        raise TrendsError(f"chủ đề không có trong danh mục: {unknown}; các mã hợp lệ: "
                          f"{', '.join(known)}")
    sources = _as_set(source_type, "source_type")
    if signal is not None:
        _check_choice(signal, SIGNALS, "signal")
    if area is not None and (not isinstance(area, str) or not area.strip()):
        raise TrendsError("area phải là một chuỗi không rỗng")

    # The counts are what every trend reads; a petition frame is counted first.
    counts = counts_from_petitions(frame) if "topics" in frame.columns else frame
    weight = "count" if signal is None else signal
    labels = area_labels(counts, level)
    data = counts.assign(area_label=labels, weight=counts[weight])
    if area is not None:
        # Part of a name is enough ("Phúc Lâm", "Vĩnh Giang"), with or without diacritics.
        wanted = fold_diacritics(area.strip())
        names = pd.concat([data["area"], labels]).fillna("").unique()
        matching = {name for name in names if wanted in fold_diacritics(name)}
        data = data[data["area"].fillna("").isin(matching) | labels.fillna("").isin(matching)]
    if sources is not None:
        data = data[data["source_type"].isin(sources)]
    if topics is not None:
        data = data[data["topic"].isin(topics)]
    data = data[data["weight"] > 0]

    undated = data["day"].isna()
    # Coverage comes from all the counts: a filter must not shorten the span in which zero
    # counts are real zeros.
    dated_all = counts["day"].dropna()
    undated_total = int(data.loc[undated, "weight"].sum())
    data = data[~undated]
    result = _empty_trends() if dated_all.empty or data.empty else _dense_counts(
        data, period, by_source_type, dated_all.min(), dated_all.max()
    )
    result.attrs["undated"] = undated_total
    return result


def _empty_trends() -> pd.DataFrame:
    return pd.DataFrame({
        "period_start": pd.Series(dtype=object),
        "area": pd.Series(dtype="string"),
        "topic": pd.Series(dtype="string"),
        "source_type": pd.Series(dtype="string"),
        "count": pd.Series(dtype="int64"),
        "previous_count": pd.Series(dtype="Int64"),
        "change_vs_previous": pd.Series(dtype="Float64"),
        "last_year_count": pd.Series(dtype="Int64"),
        "change_vs_last_year": pd.Series(dtype="Float64"),
    })


def _period_range(first: pd.Timestamp, last: pd.Timestamp, period: Period) -> pd.DatetimeIndex:
    starts = period_starts(pd.Series([first, last]), period)
    freq = {"day": "D", "week": "7D", "month": "MS"}[period]
    return pd.date_range(starts.iloc[0], starts.iloc[1], freq=freq)


def _year_before(starts: pd.Series, period: Period) -> pd.Series:
    if period == "week":
        # 52 weeks keeps the Monday and the ISO week number in all but 53-week years.
        return starts - pd.Timedelta(weeks=52)
    return starts - pd.DateOffset(years=1)


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    denominator = denominator.astype("Float64")
    ratio = numerator.astype("Float64") / denominator.where(denominator > 0)
    return ratio.astype("Float64")


def _dense_counts(
    data: pd.DataFrame, period: Period, by_source_type: bool,
    first: pd.Timestamp, last: pd.Timestamp,
) -> pd.DataFrame:
    data = data.assign(
        period_start=period_starts(data["day"], period),
        source_type=data["source_type"] if by_source_type else ALL_SOURCES,
    )
    keys = ["area_label", "topic", "source_type"]
    counts = data.groupby([*keys, "period_start"], observed=True)["weight"].sum().rename("count")
    groups = counts.reset_index()[keys].drop_duplicates()
    periods = pd.DataFrame({"period_start": _period_range(first, last, period)})
    grid = groups.merge(periods, how="cross")
    grid = grid.merge(counts.reset_index(), on=[*keys, "period_start"], how="left")
    grid["count"] = grid["count"].fillna(0).astype("int64")
    grid = grid.sort_values([*keys, "period_start"], kind="stable").reset_index(drop=True)

    # The grid is dense and sorted, so the previous period is the row before within a group.
    previous = grid.groupby(keys, observed=True)["count"].shift(1)
    grid["previous_count"] = previous.astype("Int64")
    year_ago = grid[[*keys, "period_start", "count"]].rename(
        columns={"period_start": "year_ago_start", "count": "last_year_count"}
    )
    grid["year_ago_start"] = _year_before(grid["period_start"], period)
    grid = grid.merge(year_ago, on=[*keys, "year_ago_start"], how="left")
    grid["last_year_count"] = grid["last_year_count"].astype("Int64")
    grid["change_vs_previous"] = _ratio(grid["count"], grid["previous_count"])
    grid["change_vs_last_year"] = _ratio(grid["count"], grid["last_year_count"])
    grid["period_start"] = grid["period_start"].dt.date
    grid = grid.rename(columns={"area_label": "area"})
    for column in ("area", "topic", "source_type"):
        grid[column] = grid[column].astype("string")
    grid = grid.sort_values(["period_start", "area", "topic", "source_type"], kind="stable")
    return grid[list(TREND_COLUMNS)].reset_index(drop=True)


def undated_count(frame: pd.DataFrame) -> int:
    """Return how many petitions of the frame have no received date."""
    check_frame(frame)
    if "day" in frame.columns:
        return int(frame.loc[frame["day"].isna(), "count"].sum())
    return int(frame["received_at"].isna().sum())


def as_date(value: date | pd.Timestamp) -> date:
    """Return a plain date for a date or a pandas Timestamp."""
    return value.date() if isinstance(value, pd.Timestamp) else value
