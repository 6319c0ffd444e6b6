"""Daily counts and first-seen dates, kept at ingest and rebuilt from the rows on request.

`add_petitions` runs inside the transaction that stores the petitions (PetitionStore.write_batch),
so the counts can never disagree with the rows they count, on SQLite or PostgreSQL: the upsert
adds to an existing cell (`count = count + excluded.count`) and keeps the earlier first-seen day.
`rebuild` recomputes everything from the petition rows (after an upgrade, or as a repair) and is
the definition the incremental path must match.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from pipeline.store.schema import (
    daily_counts,
    data_version,
    first_seen,
    petitions,
    source_counts,
)
from pipeline.taxonomy import OTHER as NO_TOPIC
from pipeline.text.signals import SIGNALS as SIGNAL_COLUMNS
from pipeline.text.signals import UNKNOWN_AREA

UNDATED_DAY = date(1900, 1, 1)
KEY: tuple[str, ...] = ("day", "area", "village", "commune", "province", "source_type", "topic")
PLACE_KEY: tuple[str, ...] = ("village", "commune", "province", "topic")

Cells = dict[tuple[Any, ...], list[int]]
SOURCE_TOTALS = "__sources__"  # key of the per-source-type petition totals inside Cells


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def add_to_cells(cells: Cells, petition: Mapping[str, Any]) -> None:
    """Add one petition (a dict with the petition columns) to a dict of cells, in place.

    Officials' answers (`is_response`) are not citizen petitions and are not counted.
    """
    if petition.get("is_response"):
        return
    day = petition.get("received_at") or UNDATED_DAY
    area = _text(petition.get("area")) or UNKNOWN_AREA
    place = tuple(_text(petition.get(c)) for c in ("village", "commune", "province"))
    source = _text(petition.get("source_type")) or "feedback"
    signals = set(petition.get("signals") or ())
    flags = [1, *(int(name in signals) for name in SIGNAL_COLUMNS)]
    totals = cells.setdefault((SOURCE_TOTALS, source), [0])
    totals[0] += 1
    for topic in dict.fromkeys(petition.get("topics") or ()) or (NO_TOPIC,):
        cell = cells.setdefault((day, area, *place, source, topic), [0] * len(flags))
        for i, flag in enumerate(flags):
            cell[i] += flag


def _insert(conn: Connection, table: sa.Table) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _write_cells(conn: Connection, cells: Cells) -> None:
    sources = {key[1]: values[0] for key, values in cells.items() if key[0] == SOURCE_TOTALS}
    cells = {key: values for key, values in cells.items() if key[0] != SOURCE_TOTALS}
    if sources:
        insert = _insert(conn, source_counts)
        conn.execute(insert.on_conflict_do_update(
            index_elements=["source_type"],
            set_={"count": source_counts.c.count + insert.excluded.count}),
            [{"source_type": k, "count": v} for k, v in sources.items()])
    if not cells:
        return
    rows = [dict(zip(KEY, key, strict=True))
            | dict(zip(("count", *SIGNAL_COLUMNS), values, strict=True))
            for key, values in cells.items()]
    insert = _insert(conn, daily_counts)
    added = {c: daily_counts.c[c] + insert.excluded[c] for c in ("count", *SIGNAL_COLUMNS)}
    statement = insert.on_conflict_do_update(index_elements=list(KEY), set_=added)
    for start in range(0, len(rows), 2000):
        conn.execute(statement, rows[start:start + 2000])

    first: dict[tuple[Any, ...], date] = {}
    for key in cells:
        day, _area, village, commune, province, _source, topic = key
        if day == UNDATED_DAY or not village:
            continue
        place = (village, commune, province, topic)
        if place not in first or day < first[place]:
            first[place] = day
    if first:
        seen = [dict(zip(PLACE_KEY, place, strict=True)) | {"first_day": day}
                for place, day in first.items()]
        insert = _insert(conn, first_seen)
        earlier = sa.case(
            (insert.excluded.first_day < first_seen.c.first_day, insert.excluded.first_day),
            else_=first_seen.c.first_day,
        )
        statement = insert.on_conflict_do_update(index_elements=list(PLACE_KEY),
                                                 set_={"first_day": earlier})
        for start in range(0, len(seen), 2000):
            conn.execute(statement, seen[start:start + 2000])


def bump_version(conn: Connection) -> None:
    """Mark the data as changed (readers compare this number to reuse what they computed)."""
    updated = conn.execute(sa.update(data_version).where(data_version.c.id == 1)
                           .values(version=data_version.c.version + 1))
    if updated.rowcount == 0:
        insert = _insert(conn, data_version)
        conn.execute(insert.on_conflict_do_update(
            index_elements=["id"], set_={"version": data_version.c.version + 1}),
            {"id": 1, "version": 1})


def add_petitions(conn: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
    """Count new petitions in the aggregates, inside the caller's transaction."""
    cells: Cells = {}
    for row in rows:
        add_to_cells(cells, row)
    _write_cells(conn, cells)
    bump_version(conn)


def move_petition(conn: Connection, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    """Move one petition's counts from its old labels or place to its new ones, in the caller's
    transaction (a reviewer's correction); the result equals a rebuild from the rows.

    Cells that fall to zero are deleted, and the first-seen day of every place × topic the
    petition left is recomputed from the remaining counts.
    """
    before: Cells = {}
    after: Cells = {}
    add_to_cells(before, old)
    add_to_cells(after, new)
    delta: Cells = {}
    for key in before.keys() | after.keys():
        was = before.get(key, [0] * len(after.get(key, ())))
        now = after.get(key, [0] * len(was))
        change = [b - a for a, b in zip(was, now, strict=True)]
        if any(change):
            delta[key] = change
    if not delta:
        return
    # Cells in one order, so two corrections (or a correction and an ingest) touching the same
    # cells lock them in the same order on PostgreSQL.
    delta = dict(sorted(delta.items(), key=lambda item: tuple(str(k) for k in item[0])))
    _write_cells(conn, delta)
    left = [key for key in delta if key[0] != SOURCE_TOTALS and delta[key][0] < 0]
    for key in left:
        conn.execute(sa.delete(daily_counts).where(
            *(daily_counts.c[c] == v for c, v in zip(KEY, key, strict=True)),
            daily_counts.c.count <= 0))
    places = {(key[2], key[3], key[4], key[6]) for key in left if key[2]}
    for village, commune, province, topic in places:
        same = (daily_counts.c.village == village, daily_counts.c.commune == commune,
                daily_counts.c.province == province, daily_counts.c.topic == topic,
                daily_counts.c.day > UNDATED_DAY)
        first = conn.execute(sa.select(sa.func.min(daily_counts.c.day)).where(*same)).scalar()
        where = (first_seen.c.village == village, first_seen.c.commune == commune,
                 first_seen.c.province == province, first_seen.c.topic == topic)
        if first is None:
            conn.execute(sa.delete(first_seen).where(*where))
        else:
            conn.execute(sa.update(first_seen).where(*where).values(first_day=first))
    bump_version(conn)


def current_version(engine: Engine) -> int:
    """Return the data version (0 for a database never written to)."""
    with engine.connect() as conn:
        value = conn.execute(sa.select(data_version.c.version)
                             .where(data_version.c.id == 1)).scalar()
    return int(value or 0)


_SOURCE_COLUMNS = (petitions.c.received_at, petitions.c.area, petitions.c.village,
                   petitions.c.commune, petitions.c.province, petitions.c.source_type,
                   petitions.c.topics, petitions.c.signals, petitions.c.is_response)


def rebuild(engine: Engine, *, progress: Callable[[int, int], None] | None = None,
            chunk_size: int = 20_000) -> int:
    """Recompute the aggregates from the petition rows in one transaction; return rows read.

    `progress(done, total)` is called after every chunk of petitions.
    """
    with engine.begin() as conn:
        return rebuild_in(conn, progress=progress, chunk_size=chunk_size)


def rebuild_in(conn: Connection, *, progress: Callable[[int, int], None] | None = None,
               chunk_size: int = 20_000) -> int:
    """Recompute the aggregates inside the caller's transaction (used by the migration too)."""
    total = int(conn.execute(sa.select(sa.func.count()).select_from(petitions)).scalar_one())
    conn.execute(sa.delete(daily_counts))
    conn.execute(sa.delete(first_seen))
    conn.execute(sa.delete(source_counts))
    cells: Cells = {}
    done = 0
    last_id = 0
    while True:
        batch = conn.execute(
            sa.select(petitions.c.id, *_SOURCE_COLUMNS).where(petitions.c.id > last_id)
            .order_by(petitions.c.id).limit(chunk_size)
        ).mappings().all()
        if not batch:
            break
        for row in batch:
            add_to_cells(cells, row)
        last_id = int(batch[-1]["id"])
        done += len(batch)
        if progress is not None:
            progress(done, total)
    _write_cells(conn, cells)
    bump_version(conn)
    return done


def _period_start(conn: Connection, period: str) -> Any:
    day = daily_counts.c.day
    if period == "day":
        return day
    if conn.dialect.name == "postgresql":
        return sa.cast(sa.func.date_trunc(period, day), sa.Date)
    if period == "week":
        # SQLite: forward to the week's Sunday (or stay on it), then back to its Monday.
        return sa.func.date(day, "weekday 0", "-6 days")
    return sa.func.date(day, "start of month")


def read_counts(engine: Engine, *, start: date | None = None, end: date | None = None,
                undated: bool = True, period: str = "day",
                topics: Iterable[str] | None = None,
                source_types: Iterable[str] | None = None) -> pd.DataFrame:
    """Return stored counts between two dates as a plain frame (SQL column names, '' unknown).

    With `period` "week" or "month" the cells are summed per period in the database and `day`
    is the period's first day (Monday, the 1st), which keeps a province's history small.
    Undated petitions (stored on UNDATED_DAY) come back with `day` NaT when `undated`.
    """
    if period not in ("day", "week", "month"):
        raise ValueError(f"period must be day, week or month, not {period!r}")
    conditions = []
    if start is not None:
        conditions.append(daily_counts.c.day >= start)
    if end is not None:
        conditions.append(daily_counts.c.day <= end)
    dated = sa.and_(daily_counts.c.day > UNDATED_DAY, *conditions)
    where = sa.or_(dated, daily_counts.c.day == UNDATED_DAY) if undated else dated
    if topics is not None:
        where = sa.and_(where, daily_counts.c.topic.in_(list(topics)))
    if source_types is not None:
        where = sa.and_(where, daily_counts.c.source_type.in_(list(source_types)))
    with engine.connect() as conn:
        if period == "day":
            query = sa.select(*daily_counts.c).where(where)
        else:
            first_day = _period_start(conn, period).label("day")
            keys = [daily_counts.c[c] for c in KEY[1:]]
            sums = [sa.func.sum(daily_counts.c[c]).label(c) for c in ("count", *SIGNAL_COLUMNS)]
            query = (sa.select(first_day, *keys, *sums).where(where)
                     .group_by(first_day, *keys))
        frame = pd.read_sql_query(query, conn)
    frame["day"] = pd.to_datetime(frame["day"])
    frame.loc[frame["day"] == pd.Timestamp(UNDATED_DAY), "day"] = pd.NaT
    return frame


def read_first_seen(engine: Engine, topics: Iterable[str] | None = None) -> pd.DataFrame:
    """Return the first day of each village × topic (optionally for some topics only)."""
    query = sa.select(*first_seen.c)
    if topics is not None:
        query = query.where(first_seen.c.topic.in_(list(topics)))
    with engine.connect() as conn:
        frame = pd.read_sql_query(query, conn)
    frame["first_day"] = pd.to_datetime(frame["first_day"])
    return frame


def topic_totals(engine: Engine) -> dict[str, int]:
    """Return the number of citizen petitions per topic (one petition counts in each topic)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(daily_counts.c.topic, sa.func.sum(daily_counts.c.count))
            .group_by(daily_counts.c.topic)).all()
    return {str(topic): int(total) for topic, total in rows}


def source_totals(engine: Engine) -> dict[str, int]:
    """Return the number of citizen petitions per source type."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(source_counts.c.source_type, source_counts.c.count)).all()
    return {str(source): int(total) for source, total in rows}
