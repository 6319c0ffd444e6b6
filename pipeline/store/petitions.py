"""Petitions, duplicates, quarantine rows and ingest runs: writes and queries."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from pipeline.intake.normalize import fold_diacritics
from pipeline.store.aggregates import add_petitions
from pipeline.store.cases import overdue_condition, same_place
from pipeline.store.clusters import cluster_of, index_petitions
from pipeline.store.database import chunks, utcnow, write_rows
from pipeline.store.schema import (
    duplicates,
    ingest_runs,
    petition_signals,
    petition_topics,
    petitions,
    quarantine,
)
from pipeline.store.search import contains_word, escape_like, folded


class ConcurrentWriteError(RuntimeError):
    """Another writer stored some of the batch's rows first; nothing of the batch was written."""


class PetitionStore:
    """Reads and writes petitions, duplicates, quarantine rows and ingest runs."""

    def __init__(self, engine: Engine):
        self.engine = engine

    # ------------------------------------------------------------------ runs
    def start_run(self, paths: Sequence[str]) -> int:
        """Return the id of a new ingest run, owned by this process on this machine."""
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.insert(ingest_runs).returning(ingest_runs.c.id),
                {"started_at": utcnow(), "paths": "\n".join(paths), "status": "running",
                 "host": socket.gethostname(), "pid": os.getpid()},
            )
            return int(result.scalar_one())

    def finish_run(self, run_id: int, counts: Mapping[str, int], report_dir: str | None) -> None:
        """Record the final accounting of a run."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(ingest_runs)
                .where(ingest_runs.c.id == run_id)
                .values(finished_at=utcnow(), report_dir=report_dir, status="finished",
                        **counts)
            )

    def fail_run(self, run_id: int, reason: str) -> None:
        """Mark a run failed with a one-line reason (never petition text)."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(ingest_runs)
                .where(ingest_runs.c.id == run_id, ingest_runs.c.status == "running")
                .values(finished_at=utcnow(), status="failed", failure=reason)
            )

    def fail_abandoned_runs(self) -> list[int]:
        """Mark failed the runs of this machine whose process is gone; return their ids.

        Runs of other machines (a shared PostgreSQL) are left alone: their processes cannot be
        seen from here. The rows such a run stored stay; running the same files again stores
        only the rows it had not reached.
        """
        host = socket.gethostname()
        with self.engine.connect() as conn:
            running = conn.execute(
                sa.select(ingest_runs.c.id, ingest_runs.c.pid).where(
                    ingest_runs.c.status == "running", ingest_runs.c.host == host)
            ).all()
        gone = [row.id for row in running if row.pid is None or not _process_alive(row.pid)]
        for run_id in gone:
            self.fail_run(run_id, "tiến trình nhập đã dừng giữa chừng (bị tắt hoặc lỗi); "
                                  "các dòng đã lưu được giữ, chạy lại để nhập phần còn lại")
        return gone

    def runs(self, *, limit: int = 20) -> list[dict[str, Any]]:
        """Return the latest ingest runs, newest first."""
        query = sa.select(ingest_runs).order_by(ingest_runs.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    # ------------------------------------------------------------------ batch writes
    def known_hashes(self, hashes: Iterable[str]) -> dict[str, int]:
        """Return {content hash: petition id} for hashes already stored."""
        wanted = list(set(hashes))
        found: dict[str, int] = {}
        with self.engine.connect() as conn:
            for chunk in chunks(wanted, 500):
                rows = conn.execute(
                    sa.select(petitions.c.content_hash, petitions.c.id).where(
                        petitions.c.content_hash.in_(chunk)
                    )
                )
                found.update({row.content_hash: row.id for row in rows})
        return found

    def known_source_keys(self, keys: Iterable[str]) -> set[str]:
        """Return the source keys (file + row) already stored in any table."""
        wanted = list(set(keys))
        found: set[str] = set()
        with self.engine.connect() as conn:
            for table in (petitions, duplicates, quarantine):
                for chunk in chunks(wanted, 500):
                    rows = conn.execute(
                        sa.select(table.c.source_key).where(table.c.source_key.in_(chunk))
                    )
                    found.update(row.source_key for row in rows)
        return found

    def write_batch(
        self,
        new_petitions: Sequence[dict[str, Any]],
        new_duplicates: Sequence[dict[str, Any]],
        new_quarantine: Sequence[dict[str, Any]],
    ) -> dict[str, int]:
        """Insert one batch in one transaction; return {content hash: id} of the new petitions.

        The daily counts and first-seen dates are updated in the same transaction.

        Duplicates may name their first copy by `content_hash` when it is in the same batch.
        """
        try:
            return self._write_batch(new_petitions, new_duplicates, new_quarantine)
        except sa.exc.IntegrityError as error:
            if not _unique_clash(error):
                raise
            # The rows are not quoted: the database's message holds petition values.
            raise ConcurrentWriteError("rows of this batch were stored by another run") from None

    def _write_batch(
        self,
        new_petitions: Sequence[dict[str, Any]],
        new_duplicates: Sequence[dict[str, Any]],
        new_quarantine: Sequence[dict[str, Any]],
    ) -> dict[str, int]:
        now = utcnow()
        ids: dict[str, int] = {}
        with self.engine.begin() as conn:
            if new_petitions:
                ids = _insert_petitions(conn, [{**p, "created_at": now} for p in new_petitions])
                topic_rows = [
                    {"petition_id": ids[p["content_hash"]], "topic": topic,
                     "score": float(p["scores"].get(topic, 1.0))}
                    for p in new_petitions
                    for topic in p["topics"]
                ]
                signal_rows = [
                    {"petition_id": ids[p["content_hash"]], "signal": signal}
                    for p in new_petitions
                    for signal in p["signals"]
                ]
                write_rows(conn, petition_topics, topic_rows)
                write_rows(conn, petition_signals, signal_rows)
                index_petitions(conn, [{**p, "id": ids[p["content_hash"]]} for p in new_petitions])
            if new_duplicates:
                rows = []
                for dup in new_duplicates:
                    row = {k: v for k, v in dup.items() if k != "content_hash"}
                    if row.get("petition_id") is None:
                        row["petition_id"] = ids[dup["content_hash"]]
                    rows.append({**row, "created_at": now})
                conn.execute(sa.insert(duplicates), rows)
            if new_quarantine:
                conn.execute(
                    sa.insert(quarantine), [{**q, "created_at": now} for q in new_quarantine]
                )
            # The counts move with the rows, in the same transaction: a failed batch moves neither.
            add_petitions(conn, new_petitions)
        return ids

    # ------------------------------------------------------------------ reads
    def count_petitions(self, *, include_responses: bool = False) -> int:
        """Return how many petitions are stored (officials' answers excluded by default)."""
        query = sa.select(sa.func.count()).select_from(petitions)
        if not include_responses:
            query = query.where(petitions.c.is_response.is_(False))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def counts_by(self, column: str, *, run_id: int | None = None) -> dict[str, int]:
        """Return citizen-petition counts grouped by a petitions column (source_type, area, …)."""
        col = petitions.c[column]
        query = (
            sa.select(col, sa.func.count())
            .where(petitions.c.is_response.is_(False))
            .group_by(col)
            .order_by(sa.func.count().desc())
        )
        if run_id is not None:
            query = query.where(petitions.c.run_id == run_id)
        with self.engine.connect() as conn:
            return {str(key): int(n) for key, n in conn.execute(query)}

    def counts_by_topic(self, *, run_id: int | None = None) -> dict[str, int]:
        """Return citizen-petition counts per topic code."""
        query = (
            sa.select(petition_topics.c.topic, sa.func.count())
            .join(petitions, petitions.c.id == petition_topics.c.petition_id)
            .where(petitions.c.is_response.is_(False))
            .group_by(petition_topics.c.topic)
            .order_by(sa.func.count().desc())
        )
        if run_id is not None:
            query = query.where(petitions.c.run_id == run_id)
        with self.engine.connect() as conn:
            return {str(topic): int(n) for topic, n in conn.execute(query)}

    def quarantine_rows(self, run_id: int | None = None) -> list[dict[str, Any]]:
        """Return quarantine rows, newest run first."""
        query = sa.select(quarantine).order_by(quarantine.c.id)
        if run_id is not None:
            query = query.where(quarantine.c.run_id == run_id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def duplicate_rows(self, petition_id: int) -> list[dict[str, Any]]:
        """Return the duplicate copies linked to a petition."""
        query = sa.select(duplicates).where(duplicates.c.petition_id == petition_id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def petition_frame_rows(
        self, *, start: date | None = None, end: date | None = None
    ) -> list[dict[str, Any]]:
        """Return citizen petitions (no officials' answers) as plain dicts for analysis."""
        query = sa.select(
            petitions.c.id, petitions.c.received_at, petitions.c.area, petitions.c.village,
            petitions.c.commune, petitions.c.province, petitions.c.source_type,
            petitions.c.topics, petitions.c.signals, petitions.c.sender_name, petitions.c.text,
        ).where(petitions.c.is_response.is_(False))
        if start is not None:
            query = query.where(petitions.c.received_at >= start)
        if end is not None:
            query = query.where(petitions.c.received_at <= end)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query.order_by(petitions.c.id))]


def _insert_petitions(conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert petition rows in order; return {content hash: id}.

    On PostgreSQL the ids are drawn from the table's sequence first, in order, and the rows go
    by COPY (see write_rows): one statement for the server instead of one per petition.
    """
    present = [c for c in petitions.columns if c.name != "id" and c.name in rows[0]]
    if conn.dialect.name != "postgresql":
        result = conn.execute(
            sa.insert(petitions).returning(petitions.c.id, petitions.c.content_hash),
            [{c.name: row.get(c.name) for c in present} for row in rows],
        )
        return {row.content_hash: row.id for row in result}
    from psycopg.types.json import Json

    drawn = sorted(conn.exec_driver_sql(
        "SELECT nextval(pg_get_serial_sequence('petitions', 'id')) "
        "FROM generate_series(1, %(n)s)", {"n": len(rows)}).scalars())
    as_json = {c.name for c in present if isinstance(c.type, sa.JSON)}
    write_rows(conn, petitions, [
        {"id": int(pid), **{c.name: Json(row.get(c.name)) if c.name in as_json
                            else row.get(c.name) for c in present}}
        for pid, row in zip(drawn, rows, strict=True)])
    return {row["content_hash"]: int(pid) for pid, row in zip(drawn, rows, strict=True)}


def _unique_clash(error: sa.exc.IntegrityError) -> bool:
    message = str(error.orig).lower()
    return "unique" in message or "duplicate key" in message


def _process_alive(pid: int) -> bool:
    """Return True when a process with this id runs on this machine (zombies count as gone)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


@dataclass(frozen=True)
class PetitionFilter:
    """Filters of the petition list; every field optional."""

    topic: str | None = None
    area: str | None = None
    start: date | None = None
    end: date | None = None
    source_type: str | None = None
    signal: str | None = None
    q: str | None = None
    # Resolved places (village, commune, province; None = any level) the caller may see;
    # None = everywhere. Matched by identity, never by part of a name.
    places_allowed: tuple[tuple[str | None, str | None, str | None], ...] | None = None
    ids: tuple[int, ...] | None = None
    include_responses: bool = False
    # Follow-up: one case status, and/or only cases still open after their due day on
    # `overdue_on` (due days per source type from `due_days`, see pipeline.store.cases).
    case_status: str | None = None
    overdue_on: date | None = None
    due_days: tuple[tuple[str, int], ...] = ()


def _filtered(query: sa.Select[Any], filters: PetitionFilter, dialect: str = "sqlite"
              ) -> sa.Select[Any]:
    if filters.case_status:
        query = query.where(petitions.c.case_status == filters.case_status)
    if filters.overdue_on is not None:
        query = query.where(overdue_condition(dialect, filters.overdue_on,
                                              dict(filters.due_days)))
    if not filters.include_responses:
        query = query.where(petitions.c.is_response.is_(False))
    if filters.ids is not None:
        query = query.where(petitions.c.id.in_(list(filters.ids)))
    if filters.topic:
        query = query.where(petitions.c.id.in_(
            sa.select(petition_topics.c.petition_id).where(petition_topics.c.topic == filters.topic)
        ))
    if filters.signal:
        query = query.where(petitions.c.id.in_(
            sa.select(petition_signals.c.petition_id).where(
                petition_signals.c.signal == filters.signal)
        ))
    if filters.area:
        # "GIO MY", "gio mỹ" and "Gio Mỹ" all find "thôn Gio Mỹ", on SQLite and PostgreSQL.
        wanted = escape_like(fold_diacritics(filters.area.strip()))
        query = query.where(folded(petitions.c.area).like(f"%{wanted}%", escape="\\"))
    if filters.places_allowed is not None:
        query = query.where(sa.or_(sa.false(), *(
            same_place(place) for place in filters.places_allowed
        )))
    if filters.start:
        query = query.where(petitions.c.received_at >= filters.start)
    if filters.end:
        query = query.where(petitions.c.received_at <= filters.end)
    if filters.source_type:
        query = query.where(petitions.c.source_type == filters.source_type)
    if filters.q:
        for word in filters.q.split():
            query = query.where(contains_word(petitions.c.text, word))
    return query


PETITION_ORDERS = ("newest", "oldest", "area", "number")


def _order(order: str) -> list[sa.UnaryExpression[Any]]:
    newest = [petitions.c.received_at.desc().nulls_last(), petitions.c.id.desc()]
    if order == "oldest":
        return [petitions.c.received_at.asc().nulls_last(), petitions.c.id.asc()]
    if order == "area":
        return [petitions.c.area.asc().nulls_last(), *newest]
    if order == "number":
        return [petitions.c.id.asc()]
    if order != "newest":
        raise ValueError(f"cách sắp xếp '{order}' không có; chọn một trong: "
                         + ", ".join(PETITION_ORDERS))
    return newest


def list_petitions(
    engine: Engine, filters: PetitionFilter, *, limit: int = 50, offset: int = 0,
    order: str = "newest",
) -> tuple[list[dict[str, Any]], int]:
    """Return one page of petitions matching the filters and the total count.

    ``order`` is one of `PETITION_ORDERS`: newest or oldest received first, by area (newest
    first within an area), or by number.
    """
    dialect = engine.dialect.name
    base = _filtered(sa.select(petitions), filters, dialect)
    count_query = _filtered(sa.select(sa.func.count()).select_from(petitions), filters, dialect)
    page = base.order_by(*_order(order))
    with engine.connect() as conn:
        total = int(conn.execute(count_query).scalar_one())
        rows = [dict(r._mapping) for r in conn.execute(page.limit(limit).offset(offset))]
    return rows, total


def matching_ids(engine: Engine, filters: PetitionFilter, *, limit: int) -> list[int]:
    """Return the ids of petitions matching the filters (at most `limit`, by number)."""
    query = _filtered(sa.select(petitions.c.id), filters, engine.dialect.name)
    with engine.connect() as conn:
        return [int(i) for i in conn.execute(query.order_by(petitions.c.id).limit(limit))
                .scalars()]


def get_petition(engine: Engine, petition_id: int) -> dict[str, Any] | None:
    """Return one petition by id, or None; with its `cluster_id` and `near_duplicates`.

    `near_duplicates` lists the other members of its near-duplicate cluster (id, received_at,
    area), oldest id first; empty when it has none.
    """
    with engine.connect() as conn:
        row = conn.execute(sa.select(petitions).where(petitions.c.id == petition_id)).first()
        if row is None:
            return None
        cluster_id, others = cluster_of(conn, petition_id)
    return {**row._mapping, "cluster_id": cluster_id, "near_duplicates": others}
