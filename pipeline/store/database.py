"""Engines and migrations for SQLite and PostgreSQL; the store's shared helpers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from pipeline.store.search import register_sqlite_fold

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
            register_sqlite_fold(dbapi_connection)

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
