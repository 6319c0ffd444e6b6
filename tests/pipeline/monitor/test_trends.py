"""Trends: fixed columns, multi-label counts, ISO weeks, previous period and last year."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import pytest

from pipeline.monitor.trends import (
    FRAME_COLUMNS,
    TREND_COLUMNS,
    TrendsError,
    area_labels,
    petitions_frame,
    topic_trends,
    undated_count,
)


def _row(pid: int, day: date | None, topics: list[str], *, village: str | None = "thôn Gio Mỹ",
         source_type: str = "petition", signals: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "id": pid, "received_at": day,
        "area": f"{village}, xã Vĩnh Giang" if village else "chưa xác định",
        "village": village, "commune": "xã Vĩnh Giang", "province": "tỉnh Quảng Trị",
        "source_type": source_type, "topics": topics, "signals": list(signals),
        "sender_name": f"Người gửi {pid}", "text": "Đường vào thôn bị sạt lở.",
    }


@pytest.fixture
def frame() -> pd.DataFrame:
    rows = [
        # 2024: one land petition on Sunday 10/3 (ISO week from Monday 4/3).
        _row(1, date(2024, 3, 10), ["land"]),
        # 2025: Sunday 9/3 closes the week of 3/3; Monday 10/3 opens the next one.
        _row(2, date(2025, 3, 9), ["land", "environment"], signals=("mass",)),
        _row(3, date(2025, 3, 10), ["land"], source_type="feedback"),
        _row(4, date(2025, 3, 12), ["land"]),
        _row(5, date(2025, 3, 16), ["environment"], village="thôn Tân Mỹ"),
        _row(6, None, ["land"]),
    ]
    return petitions_frame(rows)


def _at(result: pd.DataFrame, start: date, topic: str, area: str | None = None) -> pd.Series:
    chosen = result[(result["period_start"] == start) & (result["topic"] == topic)]
    if area is not None:
        chosen = chosen[chosen["area"] == area]
    assert len(chosen) == 1
    return chosen.iloc[0]


def test_frame_has_fixed_columns_and_dtypes(frame: pd.DataFrame) -> None:
    assert tuple(frame.columns) == FRAME_COLUMNS
    assert str(frame["id"].dtype) == "int64"
    assert str(frame["received_at"].dtype) == "datetime64[ns]"
    assert str(frame["area"].dtype) == "string"
    assert frame.loc[frame["id"] == 2, "topics"].iloc[0] == ("land", "environment")
    assert undated_count(frame) == 1


def test_empty_rows_give_empty_frame_and_empty_trends() -> None:
    empty = petitions_frame([])
    assert tuple(empty.columns) == FRAME_COLUMNS and empty.empty
    result = topic_trends(empty, period="week", level="village")
    assert tuple(result.columns) == TREND_COLUMNS and result.empty
    assert result.attrs["undated"] == 0


def test_missing_topics_become_other() -> None:
    frame = petitions_frame([_row(1, date(2025, 1, 2), [])])
    assert frame["topics"].iloc[0] == ("other",)


def test_week_counts_are_multi_label_and_start_on_monday(frame: pd.DataFrame) -> None:
    result = topic_trends(frame, period="week", level="commune")
    assert tuple(result.columns) == TREND_COLUMNS
    assert all(start.weekday() == 0 for start in result["period_start"])
    # Petition 2 counts once under land and once under environment.
    assert _at(result, date(2025, 3, 3), "land")["count"] == 1
    assert _at(result, date(2025, 3, 3), "environment")["count"] == 1
    # Monday 10/3 and Wednesday 12/3 fall in the next week.
    week = _at(result, date(2025, 3, 10), "land")
    assert week["count"] == 2
    assert week["previous_count"] == 1
    assert week["change_vs_previous"] == pytest.approx(2.0)
    assert result.attrs["undated"] == 1


def test_last_year_change_and_missing_history(frame: pd.DataFrame) -> None:
    result = topic_trends(frame, period="week", level="commune", topic="land")
    this_year = _at(result, date(2025, 3, 10), "land")
    assert this_year["last_year_count"] == 0  # the week 52 weeks before (4/3/2024) is empty
    assert pd.isna(this_year["change_vs_last_year"])  # no ratio against zero
    earlier = _at(result, date(2025, 3, 3), "land")
    assert earlier["last_year_count"] == 1  # week of 4/3/2024 holds petition 1
    assert earlier["change_vs_last_year"] == pytest.approx(1.0)
    first = _at(result, date(2024, 3, 4), "land")
    assert pd.isna(first["previous_count"]) and pd.isna(first["last_year_count"])


@pytest.mark.parametrize(
    ("period", "start", "expected"),
    [
        ("day", date(2025, 3, 10), 1),
        ("week", date(2025, 3, 10), 2),
        ("month", date(2025, 3, 1), 3),
    ],
)
def test_periods(frame: pd.DataFrame, period: str, start: date, expected: int) -> None:
    result = topic_trends(frame, period=period, level="all", topic="land")  # type: ignore[arg-type]
    assert _at(result, start, "land", "tất cả")["count"] == expected


def test_month_compares_with_same_month_last_year(frame: pd.DataFrame) -> None:
    result = topic_trends(frame, period="month", level="province", topic="land")
    march = _at(result, date(2025, 3, 1), "land", "tỉnh Quảng Trị")
    assert (march["count"], march["last_year_count"]) == (3, 1)
    assert march["change_vs_last_year"] == pytest.approx(3.0)


def test_village_level_and_filters(frame: pd.DataFrame) -> None:
    result = topic_trends(frame, period="month", level="village", topic="environment")
    march = result[result["period_start"] == date(2025, 3, 1)]
    assert dict(zip(march["area"], march["count"], strict=True)) == {
        "thôn Gio Mỹ, xã Vĩnh Giang": 1, "thôn Tân Mỹ, xã Vĩnh Giang": 1,
    }
    only_tan_my = topic_trends(frame, period="month", level="village", area="thôn tân mỹ")
    assert set(only_tan_my["area"]) == {"thôn Tân Mỹ, xã Vĩnh Giang"}
    mass = topic_trends(frame, period="month", level="commune", signal="mass")
    assert mass["count"].sum() == 2  # petition 2, under its two topics


def test_breakdown_by_source_type(frame: pd.DataFrame) -> None:
    result = topic_trends(frame, period="week", level="commune", topic="land",
                          by_source_type=True)
    week = result[result["period_start"] == date(2025, 3, 10)]
    assert dict(zip(week["source_type"], week["count"], strict=True)) == {
        "feedback": 1, "petition": 1,
    }
    filtered = topic_trends(frame, period="week", level="commune", source_type="feedback")
    assert set(filtered["source_type"]) == {"all"} and filtered["count"].sum() == 1


def test_area_labels_levels(frame: pd.DataFrame) -> None:
    assert area_labels(frame, "village").iloc[0] == "thôn Gio Mỹ, xã Vĩnh Giang"
    assert area_labels(frame, "commune").iloc[0] == "xã Vĩnh Giang"
    no_village = petitions_frame([_row(9, date(2025, 1, 1), ["land"], village=None)])
    assert area_labels(no_village, "village").iloc[0] == "chưa xác định"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"period": "year", "level": "village"}, "period='year' không hợp lệ"),
        ({"period": "week", "level": "district"}, "level='district' không hợp lệ"),
        ({"period": "week", "level": "village", "topic": "weather"}, "không có trong danh mục"),
        ({"period": "week", "level": "village", "signal": "loud"}, "signal='loud'"),
        ({"period": "week", "level": "village", "area": "  "}, "area phải là"),
        ({"period": "week", "level": "village", "source_type": []}, "source_type phải là"),
    ],
)
def test_bad_arguments_raise(frame: pd.DataFrame, options: dict[str, Any], message: str) -> None:
    with pytest.raises(TrendsError, match=message):
        topic_trends(frame, **options)


def test_frame_without_columns_is_refused() -> None:
    with pytest.raises(TrendsError, match="thiếu cột"):
        topic_trends(pd.DataFrame({"id": [1]}), period="week", level="village")
    with pytest.raises(TrendsError, match="cần một DataFrame"):
        topic_trends([], period="week", level="village")  # type: ignore[arg-type]


def test_store_rows_feed_the_frame(store: Any) -> None:
    # An empty store of either backend gives a well-formed empty frame.
    frame = petitions_frame(store.petition_frame_rows())
    assert tuple(frame.columns) == FRAME_COLUMNS and frame.empty
