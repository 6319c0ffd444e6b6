"""Engines and migrations for SQLite and PostgreSQL; the store's shared helpers."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from pipeline.store.search import register_sqlite_fold

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class StoreError(RuntimeError):
    """The database cannot be reached or is not at the expected schema."""


READ_ONLY_MESSAGE = (
    "cơ sở dữ liệu chỉ cho phép đọc (tệp hoặc thư mục không ghi được): chỉ xem được, "
    "không lưu được gì"
)


def _sqlite_file(url: URL) -> Path | None:
    """Return the file of a SQLite URL, or None for memory databases and other backends."""
    if not url.drivername.startswith("sqlite") or not url.database:
        return None
    database = url.database
    if database.startswith("file:"):
        database = database.removeprefix("file:").split("?", 1)[0]
    return None if database in ("", ":memory:") else Path(database)


def _read_only_file(url: URL) -> Path | None:
    """Return the SQLite file when this process may read it but not write it, else None."""
    path = _sqlite_file(url)
    if path is None or not path.is_file():
        return None
    if url.query.get("mode") == "ro" or not os.access(path, os.W_OK):
        return path
    return None


def is_read_only(engine: Engine) -> bool:
    """Return True when the engine's database is a SQLite file this process cannot write."""
    return _read_only_file(engine.url) is not None


def _create_private_file(url: URL) -> None:
    """Create a new SQLite file readable by its owner only (SQLite's journals take its mode).

    The database holds petitions and senders: the system's default mode would let every
    account on the machine read it. An existing file is left as it is.
    """
    path = _sqlite_file(url)
    if path is None or path.exists() or url.query.get("mode") == "ro":
        return
    with contextlib.suppress(OSError):  # a missing folder: SQLite says so in its own words
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _read_only_url(path: Path) -> str:
    # A WAL database needs its -shm file: in a folder we cannot write, SQLite could not create
    # it and refuses to open the file at all, unless told that nothing will change it.
    immutable = not os.access(path.parent, os.W_OK) and not path.with_name(
        path.name + "-shm").exists()
    return f"sqlite:///file:{path.resolve()}?mode=ro{'&immutable=1' if immutable else ''}&uri=true"


def utcnow() -> datetime:
    """Return the current UTC time without tzinfo (stored as naive UTC in both databases)."""
    return datetime.now(UTC).replace(tzinfo=None)


def create_db_engine(url: str) -> Engine:
    """Return an engine for the URL; SQLite gets WAL mode and foreign keys on every connection."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    try:
        _create_private_file(make_url(url))
        read_only = _read_only_file(make_url(url))
        engine = sa.create_engine(url if read_only is None else _read_only_url(read_only),
                                  future=True)
    except (sa.exc.ArgumentError, ImportError, sa.exc.NoSuchModuleError) as error:
        raise StoreError(
            f"địa chỉ cơ sở dữ liệu '{url.split('@')[-1]}' không dùng được: chỉ hỗ trợ "
            "sqlite:///tệp.db hoặc postgresql://người-dùng:mật-khẩu@máy/tên-csdl"
        ) from error
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            if read_only is None:  # switching the journal mode writes to the file
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Two ingests at once take turns at writing; a batch can hold the lock for seconds.
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
            register_sqlite_fold(dbapi_connection)

    return engine


def _alembic_config() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _heads() -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(_alembic_config()).get_heads())


def _current_heads(connection: sa.Connection) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    return set(MigrationContext.configure(connection).get_current_heads())


def at_newest_schema(engine: Engine) -> bool:
    """Return True when the database already has every migration (checked without writing)."""
    try:
        with engine.connect() as connection:
            current = _current_heads(connection)
    except sa.exc.OperationalError as error:
        raise StoreError(f"Không kết nối được cơ sở dữ liệu: {error.orig}") from error
    return current == _heads()


# Any fixed number: PostgreSQL's advisory lock that lets one process at a time migrate.
_MIGRATION_LOCK_KEY = 7_310_2025


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """Hold an exclusive lock on a SQLite file while migrating (no-op for other databases).

    flock is apart from the POSIX locks SQLite itself takes, so readers are not blocked.
    """
    path = _sqlite_file(engine.url)
    if path is None:
        yield
        return
    with path.open("ab") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def migrate(engine: Engine) -> None:
    """Bring the database schema to the newest migration (Alembic); no write when it is there.

    A read-only database at the newest schema is fine (it serves reads); one that needs a
    migration raises StoreError with a clear reason. Processes starting together on a new
    database take turns: the first migrates, the others find the schema done.
    """
    from alembic import command

    if at_newest_schema(engine):
        return
    if is_read_only(engine):
        raise StoreError(f"{READ_ONLY_MESSAGE}; cấu trúc của nó cũ, cần nâng cấp bằng một "
                         "tài khoản có quyền ghi")
    config = _alembic_config()
    try:
        with _migration_lock(engine), engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                                   {"key": _MIGRATION_LOCK_KEY})
            if _current_heads(connection) == _heads():
                return
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

    For tables written by the thousand at ingest (cluster buckets, term counts, topics). With
    `conflict` (the key columns, unique within `rows`) a row whose key exists adds its `add`
    columns to the stored ones instead (an upsert that SQLite and PostgreSQL spell the same
    way). On PostgreSQL the rows travel by COPY into a temporary table, then one INSERT … SELECT
    in key order stores them: one statement for the server instead of one per row. Dates are
    passed in the form each database stores them.
    """
    if not rows:
        return
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    suffix = ""
    if conflict:
        keys = ", ".join(f'"{c}"' for c in conflict)
        sets = ", ".join(f'"{c}" = "{table.name}"."{c}" + excluded."{c}"' for c in add)
        suffix = f" ON CONFLICT ({keys}) DO " + (f"UPDATE SET {sets}" if sets else "NOTHING")
    pick = itemgetter(*columns)
    data = [pick(row) for row in rows] if len(columns) > 1 else [(pick(r),) for r in rows]
    if conn.dialect.name == "postgresql":
        _copy_rows(conn, table, columns, data, suffix, conflict or columns[:1])
        return
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join(["?"] * len(columns))})'
    dated = [i for i, v in enumerate(data[0]) if isinstance(v, date)]
    if dated:
        data = [tuple(v.isoformat() if i in dated and v is not None else v
                      for i, v in enumerate(row)) for row in data]
    for start in range(0, len(data), 5000):
        conn.exec_driver_sql(sql + suffix, data[start:start + 5000])


def _copy_rows(conn: sa.Connection, table: sa.Table, columns: Sequence[str],
               data: Sequence[tuple[Any, ...]], suffix: str, order: Sequence[str]) -> None:
    """PostgreSQL: COPY the rows into a temporary twin of the table, then insert them at once."""
    names = ", ".join(f'"{c}"' for c in columns)
    import psycopg

    staging = f"copy_{table.name}"
    with conn.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
        try:
            _copy_through(cursor, table, staging, names, data, suffix, order)
        except psycopg.IntegrityError as error:
            # As SQLAlchemy reports it for its own statements (a clash of concurrent runs).
            raise sa.exc.IntegrityError(f"COPY {table.name}", None, error) from error


def _copy_through(cursor: Any, table: sa.Table, staging: str, names: str,
                  data: Sequence[tuple[Any, ...]], suffix: str, order: Sequence[str]) -> None:
    # The staging table has the written columns' types and no constraints or defaults.
    cursor.execute(f'DROP TABLE IF EXISTS "{staging}"')
    cursor.execute(f'CREATE TEMPORARY TABLE "{staging}" ON COMMIT DROP AS '
                   f'SELECT {names} FROM "{table.name}" WITH NO DATA')
    with cursor.copy(f'COPY "{staging}" ({names}) FROM STDIN') as copy:
        for row in data:
            copy.write_row(row)
    # Key order: two concurrent ingests lock the same rows in the same order.
    keys = ", ".join(f'"{c}"' for c in order)
    cursor.execute(f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM "{staging}" '
                   f"ORDER BY {keys}{suffix}")
    cursor.execute(f'DROP TABLE "{staging}"')
