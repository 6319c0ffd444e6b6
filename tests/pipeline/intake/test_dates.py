"""The one date parser: day first, ISO, Vietnamese words; months as mm/yyyy or yyyy-mm."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.intake.dates import DateError, parse_day, parse_month


@pytest.mark.parametrize(("text", "expected"), [
    ("05/06/2025", date(2025, 6, 5)),
    ("5/6/2025", date(2025, 6, 5)),
    ("5/6/25", date(2025, 6, 5)),
    ("05-06-2025", date(2025, 6, 5)),
    ("05.06.2025", date(2025, 6, 5)),
    ("2025-06-05", date(2025, 6, 5)),
    ("2025-06-05T08:30:00", date(2025, 6, 5)),
    ("ngày 5 tháng 6 năm 2025", date(2025, 6, 5)),
    ("Ngay 05 thang 06 nam 2025", date(2025, 6, 5)),
    ("  12/03/2025 08:30 ", date(2025, 3, 12)),
])
def test_days_are_read_day_first_or_iso(text: str, expected: date) -> None:
    assert parse_day(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("31/02/2025", "không tồn tại"),
    ("32/01/2025", "không tồn tại"),
    ("hôm qua", "dd/mm/yyyy"),
    ("5/6", "thiếu ngày, tháng hoặc năm"),
    ("2025-06", "thiếu ngày, tháng hoặc năm"),
    ("", "trống"),
])
def test_incomplete_or_impossible_days_are_refused(text: str, message: str) -> None:
    with pytest.raises(DateError, match=message):
        parse_day(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("2025-06", (2025, 6)), ("06/2025", (2025, 6)), ("6/2025", (2025, 6)),
    ("tháng 6/2025", (2025, 6)), ("2025-6", (2025, 6)),
])
def test_months_are_read_both_ways(text: str, expected: tuple[int, int]) -> None:
    assert parse_month(text) == expected


@pytest.mark.parametrize("text", ["2025-13", "13/2025", "05/06/2025", "", "tháng sau"])
def test_bad_months_are_refused(text: str) -> None:
    with pytest.raises(DateError, match="mm/yyyy"):
        parse_month(text)
