"""Unexpected errors at the command line's edge: one Vietnamese line, never personal data.

Exception messages may quote petition texts, names or phone numbers (a database driver repeats
the parameters of the failed statement), so the line names only the kind of problem. With
TAMTU_DEBUG_FILE set, the full traceback is appended to that file, readable by its owner only.
"""

from __future__ import annotations

import errno
import os
import traceback
from collections.abc import Iterator
from pathlib import Path

DEBUG_FILE_VARIABLE = "TAMTU_DEBUG_FILE"

DISK_FULL = ("ổ đĩa đã đầy, không ghi tiếp được; giải phóng chỗ trống rồi chạy lại — "
             "các dòng đã lưu được giữ và không bị nhập hai lần")
CONCURRENT = ("một lần nhập khác đang ghi cùng những dòng này; chạy lại khi nó xong — "
              "các dòng đã lưu không bị nhập hai lần")
UNEXPECTED = "sự cố không lường trước ({kind}); báo cho người quản trị hệ thống"
DEBUG_HINT = ("để ghi chi tiết cho người quản trị, chạy lại với biến môi trường "
              f"{DEBUG_FILE_VARIABLE}=đường-dẫn-tệp")


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)  # SQLAlchemy wraps the driver's error
        if isinstance(orig, BaseException) and id(orig) not in seen:
            yield orig
            seen.add(id(orig))
        current = current.__cause__ or current.__context__


def _is_disk_full(error: BaseException) -> bool:
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    # SQLite says "database or disk is full"; PostgreSQL's class 53100 is DiskFull. Only the
    # kind of the message is read, never repeated.
    name = type(error).__name__
    text = str(error).lower() if name in ("OperationalError", "DiskFull") else ""
    return name == "DiskFull" or "disk is full" in text or "no space left" in text


def _is_concurrent_write(error: BaseException) -> bool:
    return type(error).__name__ in ("IntegrityError", "ConcurrentWriteError", "UniqueViolation")


def describe(error: BaseException) -> str:
    """Return one line in Vietnamese for an unexpected error, free of its message."""
    chain = list(_chain(error))
    if any(_is_disk_full(e) for e in chain):
        return DISK_FULL
    if any(_is_concurrent_write(e) for e in chain):
        return CONCURRENT
    return UNEXPECTED.format(kind=type(error).__name__)


def write_debug_file(error: BaseException, path: Path) -> bool:
    """Append the traceback to `path`, created readable by its owner only; False if not written."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError:
        return False
    try:
        os.fchmod(descriptor, 0o600)  # an existing file keeps no wider mode
        with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
            descriptor = -1
            handle.write("".join(traceback.format_exception(error)))
    except OSError:
        return False
    finally:
        if descriptor >= 0:
            os.close(descriptor)
    return True


def report_unexpected(error: BaseException, environ: dict[str, str] | None = None) -> str:
    """Return the one line to print; write the traceback to the debug file when one is set."""
    line = describe(error)
    target = (environ if environ is not None else dict(os.environ)).get(DEBUG_FILE_VARIABLE)
    if not target:
        return f"{line} ({DEBUG_HINT})" if line.startswith("sự cố") else line
    if write_debug_file(error, Path(target)):
        return f"{line}; chi tiết đã ghi vào {target}"
    return f"{line}; không ghi được chi tiết vào {target}"
