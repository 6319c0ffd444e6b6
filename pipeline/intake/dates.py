"""The one parser of written dates and months: day first (dd/mm/yyyy), ISO, Vietnamese words.

Files, command-line options and report months all go through `parse_day` or `parse_month`, so
"05/06/2025", "5/6/25", "2025-06-05" and "ngày 5 tháng 6 năm 2025" mean the same day everywhere.
The parsing itself is python-dateutil's; this module only says which order a date is written in
and insists that every part (day, month, year) was written.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from dateutil import parser as _dateutil

# Two different fallbacks: a part missing from the text shows up as a difference between them.
_FALLBACKS = (datetime(1904, 1, 1), datetime(1908, 2, 2))


class DateError(ValueError):
    """A text that is not a complete, existing date (or month) in a known form."""


class _VietnameseWords(_dateutil.parserinfo):
    # "ngày 5 tháng 6 năm 2025": the words are skipped, the numbers read day first.
    JUMP = [*_dateutil.parserinfo.JUMP, "ngày", "tháng", "năm", "ngay", "thang", "nam", "lúc",
            "luc"]


# The two plain forms of almost every cell, read without dateutil (a history file has millions).
_DAY_FIRST = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def _plain_day(text: str) -> date | None:
    """Return the day of dd/mm/yyyy or yyyy-mm-dd text, None for any other form."""
    if match := _DAY_FIRST.fullmatch(text):
        day, month, year = (int(v) for v in match.groups())
    elif match := _ISO.fullmatch(text):
        year, month, day = (int(v) for v in match.groups())
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError as error:
        raise DateError(f"ngày '{text}' không tồn tại") from error


def _year_first(text: str) -> bool:
    return text[:4].isdigit() and text[4:5] in ("-", "/", ".")


def _parse(text: str) -> tuple[datetime, datetime]:
    info = _VietnameseWords(dayfirst=not _year_first(text), yearfirst=_year_first(text))
    reader = _dateutil.parser(info)
    return tuple(reader.parse(text, default=d) for d in _FALLBACKS)  # type: ignore[return-value]


def parse_day(text: str) -> date:
    """Return the day written in `text` (dd/mm/yyyy, dd-mm-yy, yyyy-mm-dd, "ngày d tháng m năm
    y", with an optional time after it); raise DateError when it is not one complete day."""
    cleaned = " ".join(str(text).split())
    if not cleaned:
        raise DateError("ngày trống")
    plain = _plain_day(cleaned)
    if plain is not None:
        return plain
    try:
        first, second = _parse(cleaned)
    except _dateutil.ParserError as error:
        message = str(error)
        if "out of range" in message or "must be in" in message:
            raise DateError(f"ngày '{cleaned}' không tồn tại") from error
        raise DateError(f"không đọc được ngày '{cleaned}' (cần dạng dd/mm/yyyy, ví dụ "
                        "05/06/2025, hoặc yyyy-mm-dd)") from error
    except (OverflowError, ValueError) as error:
        raise DateError(f"ngày '{cleaned}' không tồn tại") from error
    if first.date() != second.date():
        raise DateError(f"ngày '{cleaned}' thiếu ngày, tháng hoặc năm (cần dạng dd/mm/yyyy)")
    return first.date()


def parse_month(text: str) -> tuple[int, int]:
    """Return (year, month) written as mm/yyyy, yyyy-mm or "tháng m/yyyy"; raise DateError
    otherwise (a full day is refused: a month is asked for)."""
    cleaned = " ".join(str(text).split())
    hint = "cần dạng mm/yyyy hoặc yyyy-mm, ví dụ 06/2025 hoặc 2025-06"
    if not cleaned:
        raise DateError(f"tháng trống ({hint})")
    try:
        first, second = _parse(cleaned)
    except (_dateutil.ParserError, OverflowError, ValueError) as error:
        raise DateError(f"tháng '{cleaned}' không đúng dạng ({hint})") from error
    if (first.year, first.month) != (second.year, second.month) or first.day == second.day:
        raise DateError(f"tháng '{cleaned}' không đúng dạng ({hint})")
    return first.year, first.month
