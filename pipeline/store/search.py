"""Accent-insensitive text search that runs inside the database (SQLite and PostgreSQL alike).

A word typed without diacritics ("trai heo") matches every accented spelling ("trại heo", "trái");
a word typed with diacritics matches that spelling only, so "trại" does not also find "trái".
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction

from pipeline.intake.normalize import fold_diacritics

SQLITE_FOLD = "tamtu_fold"
SQLITE_LOWER = "tamtu_lower"
_LETTERS = range(0xC0, 0x1EFA)  # Latin-1 to Latin Extended Additional: every Vietnamese letter


def _fold_or_none(text: str | None) -> str | None:
    return None if text is None else fold_diacritics(text)


def _lower_or_none(text: str | None) -> str | None:
    return None if text is None else text.lower()


def _translation() -> tuple[str, str]:
    """Return (accented letters, their plain letters) for PostgreSQL's translate()."""
    accented, plain = [], []
    for letter in map(chr, _LETTERS):
        base = fold_diacritics(letter)
        if letter.isalpha() and len(base) == 1 and base.isascii() and base != letter:
            accented.append(letter)
            plain.append(base)
    return "".join(accented), "".join(plain)


def _capitals() -> tuple[str, str]:
    """Return (capital letters, their small letters), so lowering does not hang on the locale."""
    pairs = [(c, c.lower()) for c in map(chr, _LETTERS) if c.isupper() and len(c.lower()) == 1]
    return "".join(c for c, _ in pairs), "".join(s for _, s in pairs)


class folded(GenericFunction[str]):  # noqa: N801 - used like an SQL function name
    """The column's text lower-cased with its diacritics removed and "đ" as "d"."""

    type = sa.Text()
    inherit_cache = True


class lowered(GenericFunction[str]):  # noqa: N801 - used like an SQL function name
    """The column's text lower-cased, accented capitals included, whatever the server locale."""

    type = sa.Text()
    inherit_cache = True


@compiles(folded)
def _folded_sqlite(element: folded, compiler: Any, **kw: Any) -> str:
    return f"{SQLITE_FOLD}({compiler.process(element.clauses, **kw)})"


@compiles(lowered)
def _lowered_sqlite(element: lowered, compiler: Any, **kw: Any) -> str:
    return f"{SQLITE_LOWER}({compiler.process(element.clauses, **kw)})"


@compiles(folded, "postgresql")
def _folded_postgresql(element: folded, compiler: Any, **kw: Any) -> str:
    accented, plain = _translation()
    return (f"translate(lower({compiler.process(element.clauses, **kw)}), "
            f"'{accented}', '{plain}')")


@compiles(lowered, "postgresql")
def _lowered_postgresql(element: lowered, compiler: Any, **kw: Any) -> str:
    capitals, small = _capitals()
    return (f"lower(translate({compiler.process(element.clauses, **kw)}, "
            f"'{capitals}', '{small}'))")


def register_sqlite_fold(dbapi_connection: Any) -> None:
    """Make `folded()` and `lowered()` available on one SQLite connection."""
    dbapi_connection.create_function(SQLITE_FOLD, 1, _fold_or_none, deterministic=True)
    dbapi_connection.create_function(SQLITE_LOWER, 1, _lower_or_none, deterministic=True)


def escape_like(value: str) -> str:
    """Return the value with LIKE's wildcards escaped by a backslash."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_word(column: Any, word: str) -> sa.ColumnElement[bool]:
    """Return the condition "the column contains the word", ignoring case and, for a word typed
    without diacritics, ignoring diacritics too."""
    plain = fold_diacritics(word)
    if plain == word.lower():
        return folded(column).like(f"%{escape_like(plain)}%", escape="\\")
    return lowered(column).like(f"%{escape_like(word.lower())}%", escape="\\")
