"""Engines and migrations for SQLite and PostgreSQL; the store's shared helpers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class StoreError(RuntimeError):
    """The database cannot be reached or is not at the expected schema."""


def utcnow() -> datetime:
    """Return the current UTC time without tzinfo (stored as naive UTC in both databases)."""
    return datetime.now(UTC).replace(tzinfo=None)


def create_db_engine(url: str) -> Engine:
    """Return an engine for the URL; SQLite gets WAL mode and foreign keys on every connection."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    try:
        engine = sa.create_engine(url, future=True)
    except (sa.exc.ArgumentError, ImportError, sa.exc.NoSuchModuleError) as error:
        raise StoreError(
            f"địa chỉ cơ sở dữ liệu '{url.split('@')[-1]}' không dùng được: chỉ hỗ trợ "
            "sqlite:///tệp.db hoặc postgresql://người-dùng:mật-khẩu@máy/tên-csdl"
        ) from error
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return engine


def migrate(engine: Engine) -> None:
    """Bring the database schema to the newest migration (Alembic)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except sa.exc.OperationalError as error:
        raise StoreError(f"Không kết nối được cơ sở dữ liệu: {error.orig}") from error


def chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def write_rows(conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], *,
               conflict: Sequence[str] = (), add: Sequence[str] = ()) -> None:
    """Insert many rows in one driver call per chunk (no per-row statement processing).

    For tables written by the thousand at ingest (cluster buckets, term counts). With
    `conflict` (the key columns) a row whose key exists adds its `add` columns to the stored
    ones instead (an upsert that SQLite and PostgreSQL spell the same way). Dates are passed
    in the form each database stores them.
    """
    if not rows:
        return
    columns = list(rows[0])
    sqlite = conn.dialect.name == "sqlite"
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    names = ", ".join(f'"{c}"' for c in columns)
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join([mark] * len(columns))})'
    if conflict:
        keys = ", ".join(f'"{c}"' for c in conflict)
        sets = ", ".join(f'"{c}" = "{table.name}"."{c}" + excluded."{c}"' for c in add)
        sql += f" ON CONFLICT ({keys}) DO " + (f"UPDATE SET {sets}" if sets else "NOTHING")

    pick = itemgetter(*columns)
    data = [pick(row) for row in rows] if len(columns) > 1 else [(pick(r),) for r in rows]
    dated = [i for i, v in enumerate(data[0]) if isinstance(v, date)] if sqlite else []
    if dated:
        data = [tuple(v.isoformat() if i in dated and v is not None else v
                      for i, v in enumerate(row)) for row in data]
    for start in range(0, len(data), 5000):
        conn.exec_driver_sql(sql, data[start:start + 5000])
