"""Unexpected errors at the command line: one line without personal data; details to a 0600 file."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import sqlalchemy as sa

from api.cli_errors import DEBUG_FILE_VARIABLE, describe, report_unexpected

SECRET = "Nguyễn Thị Hoa 0912345678"


def _driver_error(message: str, kind: type[sa.exc.DBAPIError]) -> sa.exc.DBAPIError:
    # What SQLAlchemy raises: the statement and its parameters (a petition) in the message.
    return kind("INSERT INTO petitions (text) VALUES (?)", (SECRET,),
                sqlite3.OperationalError(message))


def test_disk_full_and_clashing_writes_are_named_without_their_message() -> None:
    full = _driver_error("database or disk is full", sa.exc.OperationalError)
    clash = _driver_error("UNIQUE constraint failed: petitions.source_key", sa.exc.IntegrityError)
    assert SECRET in str(full) and SECRET in str(clash)
    assert "ổ đĩa đã đầy" in describe(full)
    assert "lần nhập khác" in describe(clash)
    assert "ổ đĩa đã đầy" in describe(OSError(28, "No space left on device"))
    for error in (full, clash, ValueError(SECRET), KeyError(SECRET)):
        line = report_unexpected(error, {})
        assert SECRET not in line and "\n" not in line


def test_the_debug_file_holds_the_traceback_and_only_its_owner_reads_it(tmp_path: Path) -> None:
    target = tmp_path / "chi-tiet.log"
    target.write_text("")
    target.chmod(0o644)
    try:
        raise ValueError(SECRET)
    except ValueError as error:
        line = report_unexpected(error, {DEBUG_FILE_VARIABLE: str(target)})
    assert SECRET not in line and str(target) in line
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    text = target.read_text(encoding="utf-8")
    assert "Traceback" in text and SECRET in text


def test_an_unwritable_debug_file_is_said_in_the_line(tmp_path: Path) -> None:
    target = tmp_path / "no-such-folder" / "chi-tiet.log"
    line = report_unexpected(ValueError(SECRET), {DEBUG_FILE_VARIABLE: str(target)})
    assert "không ghi được chi tiết" in line and SECRET not in line
