"""The only SQL in the project: tables, migrations, inserts and queries (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

metadata = sa.MetaData()

ingest_runs = sa.Table(
    "ingest_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
    sa.Column("paths", sa.Text, nullable=False, server_default=""),
    sa.Column("read", sa.Integer, nullable=False, server_default="0"),
    sa.Column("stored", sa.Integer, nullable=False, server_default="0"),
    sa.Column("duplicates", sa.Integer, nullable=False, server_default="0"),
    sa.Column("quarantined", sa.Integer, nullable=False, server_default="0"),
    sa.Column("report_dir", sa.Text),
)

petitions = sa.Table(
    "petitions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("content_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("source_key", sa.String(64), nullable=False, unique=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("text_raw", sa.Text, nullable=False),
    sa.Column("received_at", sa.Date, index=True),
    sa.Column("area_raw", sa.Text),
    sa.Column("area", sa.Text, nullable=False, server_default="chưa xác định", index=True),
    sa.Column("village", sa.Text),
    sa.Column("commune", sa.Text),
    sa.Column("province", sa.Text),
    sa.Column("source_type", sa.String(20), nullable=False, index=True),
    sa.Column("external_id", sa.Text),
    sa.Column("sender_name", sa.Text),
    sa.Column("sender_contact", sa.Text),
    sa.Column("channel", sa.Text),
    sa.Column("is_response", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("no_diacritics", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("legacy_encoding", sa.String(10)),
    sa.Column("topics", sa.JSON, nullable=False),
    sa.Column("scores", sa.JSON, nullable=False),
    sa.Column("signals", sa.JSON, nullable=False),
    sa.Column("source_file", sa.Text, nullable=False),
    sa.Column("source_row", sa.Integer),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("ingest_runs.id")),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("extra", sa.JSON, nullable=False),
)

petition_topics = sa.Table(
    "petition_topics",
    metadata,
    sa.Column("petition_id", sa.Integer, sa.ForeignKey("petitions.id"), primary_key=True),
    sa.Column("topic", sa.String(40), primary_key=True, index=True),
    sa.Column("score", sa.Float, nullable=False),
)

petition_signals = sa.Table(
    "petition_signals",
    metadata,
    sa.Column("petition_id", sa.Integer, sa.ForeignKey("petitions.id"), primary_key=True),
    sa.Column("signal", sa.String(20), primary_key=True, index=True),
)

duplicates = sa.Table(
    "duplicates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("petition_id", sa.Integer, sa.ForeignKey("petitions.id"), nullable=False, index=True),
    sa.Column("source_key", sa.String(64), nullable=False, unique=True),
    sa.Column("source_file", sa.Text, nullable=False),
    sa.Column("source_row", sa.Integer),
    sa.Column("sender_name", sa.Text),
    sa.Column("received_at", sa.Date),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("ingest_runs.id")),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("source_key", sa.String(64), nullable=False, unique=True),
    sa.Column("source_file", sa.Text, nullable=False),
    sa.Column("source_row", sa.Integer),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("raw", sa.Text, nullable=False, server_default=""),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("ingest_runs.id")),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

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


class PetitionStore:
    """Reads and writes petitions, duplicates, quarantine rows and ingest runs."""

    def __init__(self, engine: Engine):
        self.engine = engine

    # ------------------------------------------------------------------ runs
    def start_run(self, paths: Sequence[str]) -> int:
        """Return the id of a new ingest run."""
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.insert(ingest_runs).returning(ingest_runs.c.id),
                {"started_at": utcnow(), "paths": "\n".join(paths)},
            )
            return int(result.scalar_one())

    def finish_run(self, run_id: int, counts: Mapping[str, int], report_dir: str | None) -> None:
        """Record the final accounting of a run."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(ingest_runs)
                .where(ingest_runs.c.id == run_id)
                .values(finished_at=utcnow(), report_dir=report_dir, **counts)
            )

    # ------------------------------------------------------------------ batch writes
    def known_hashes(self, hashes: Iterable[str]) -> dict[str, int]:
        """Return {content hash: petition id} for hashes already stored."""
        wanted = list(set(hashes))
        found: dict[str, int] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(wanted, 500):
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
                for chunk in _chunks(wanted, 500):
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

        Duplicates may name their first copy by `content_hash` when it is in the same batch.
        """
        now = utcnow()
        ids: dict[str, int] = {}
        with self.engine.begin() as conn:
            if new_petitions:
                rows = [{**p, "created_at": now} for p in new_petitions]
                columns = {c.name for c in petitions.columns}
                result = conn.execute(
                    sa.insert(petitions).returning(petitions.c.id, petitions.c.content_hash),
                    [{k: v for k, v in row.items() if k in columns} for row in rows],
                    )
                ids = {row.content_hash: row.id for row in result}
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
                if topic_rows:
                    conn.execute(sa.insert(petition_topics), topic_rows)
                if signal_rows:
                    conn.execute(sa.insert(petition_signals), signal_rows)
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
    areas_allowed: tuple[str, ...] | None = None
    ids: tuple[int, ...] | None = None
    include_responses: bool = False


def _filtered(query: sa.Select[Any], filters: PetitionFilter) -> sa.Select[Any]:
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
        query = query.where(petitions.c.area.ilike(f"%{_escape_like(filters.area)}%", escape="\\"))
    if filters.areas_allowed is not None:
        query = query.where(sa.or_(sa.false(), *(
            petitions.c.area.ilike(f"%{_escape_like(a)}%", escape="\\")
            for a in filters.areas_allowed
        )))
    if filters.start:
        query = query.where(petitions.c.received_at >= filters.start)
    if filters.end:
        query = query.where(petitions.c.received_at <= filters.end)
    if filters.source_type:
        query = query.where(petitions.c.source_type == filters.source_type)
    if filters.q:
        for word in filters.q.split():
            query = query.where(petitions.c.text.ilike(f"%{_escape_like(word)}%", escape="\\"))
    return query


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_petitions(
    engine: Engine, filters: PetitionFilter, *, limit: int = 50, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """Return one page of petitions matching the filters (newest first) and the total count."""
    base = _filtered(sa.select(petitions), filters)
    count_query = _filtered(sa.select(sa.func.count()).select_from(petitions), filters)
    page = base.order_by(petitions.c.received_at.desc().nulls_last(), petitions.c.id.desc())
    with engine.connect() as conn:
        total = int(conn.execute(count_query).scalar_one())
        rows = [dict(r._mapping) for r in conn.execute(page.limit(limit).offset(offset))]
    return rows, total


def get_petition(engine: Engine, petition_id: int) -> dict[str, Any] | None:
    """Return one petition by id, or None."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(petitions).where(petitions.c.id == petition_id)).first()
    return dict(row._mapping) if row else None


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ---------------------------------------------------------------------- alerts (migration 0002)
alert_rules = sa.Table(
    "alert_rules",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("topics", sa.JSON, nullable=False),
    sa.Column("areas", sa.JSON, nullable=False),
    sa.Column("min_severity", sa.String(10), nullable=False, server_default="low"),
    sa.Column("channels", sa.JSON, nullable=False),
    sa.Column("quiet_hours", sa.String(20)),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("area", sa.Text, nullable=False),
    sa.Column("topic", sa.String(40), nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("severity", sa.String(10), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("expected", sa.Float, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("window_start", sa.Date, nullable=False),
    sa.Column("window_end", sa.Date, nullable=False),
    sa.Column("explanation", sa.Text, nullable=False),
    sa.Column("petition_ids", sa.JSON, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False, server_default="1"),
    sa.Column("opened_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("last_seen_at", sa.DateTime, nullable=False),
    sa.Column("closed_at", sa.DateTime),
    sa.Column("acked_at", sa.DateTime),
    sa.Column("acked_by", sa.Text),
    sa.Column("ack_note", sa.Text),
    sa.Column("resolved_at", sa.DateTime),
    sa.Column("resolved_by", sa.Text),
    sa.Column("resolve_note", sa.Text),
    # At most one episode per (topic, area) is tracked at a time, even with concurrent evaluators.
    sa.Index(
        "uq_alerts_tracked_episode", "topic", "area", unique=True,
        sqlite_where=sa.text("closed_at IS NULL"),
        postgresql_where=sa.text("closed_at IS NULL"),
    ),
)

alert_deliveries = sa.Table(
    "alert_deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id"), nullable=False, index=True),
    sa.Column("rule_id", sa.Integer, sa.ForeignKey("alert_rules.id")),
    sa.Column("event", sa.String(20), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("severity", sa.String(10), nullable=False),
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("status", sa.String(10), nullable=False, server_default="pending", index=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("next_attempt_at", sa.DateTime, nullable=False, index=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("sent_at", sa.DateTime),
)


class AlertStore:
    """Reads and writes alert rules, alert episodes and the delivery queue (plain dicts)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    # ------------------------------------------------------------------ rules
    def list_rules(self, *, enabled_only: bool = False) -> list[dict[str, Any]]:
        """Return the alert rules ordered by id."""
        query = sa.select(alert_rules).order_by(alert_rules.c.id)
        if enabled_only:
            query = query.where(alert_rules.c.enabled.is_(True))
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def get_rule(self, rule_id: int) -> dict[str, Any] | None:
        """Return one rule by id, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(alert_rules).where(alert_rules.c.id == rule_id)).first()
        return dict(row._mapping) if row else None

    def get_rule_by_name(self, name: str) -> dict[str, Any] | None:
        """Return one rule by its unique name, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(alert_rules).where(alert_rules.c.name == name)).first()
        return dict(row._mapping) if row else None

    def create_rule(self, values: Mapping[str, Any]) -> int:
        """Insert a rule (columns name, enabled, topics, areas, …); return its id."""
        now = utcnow()
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.insert(alert_rules).returning(alert_rules.c.id),
                {**self._columns_only(alert_rules, values), "created_at": now, "updated_at": now},
            )
            return int(result.scalar_one())

    def update_rule(self, rule_id: int, values: Mapping[str, Any]) -> bool:
        """Change a rule's columns; return False when no rule has this id."""
        changes = {k: v for k, v in self._columns_only(alert_rules, values).items() if k != "id"}
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(alert_rules).where(alert_rules.c.id == rule_id)
                .values(**changes, updated_at=utcnow())
            )
            return result.rowcount == 1

    def delete_rule(self, rule_id: int) -> bool:
        """Delete a rule, failing its pending deliveries; return False when no rule has this id."""
        with self.engine.begin() as conn:
            # The delivery log outlives the rule; pending sends lose their channel secret with it.
            conn.execute(
                sa.update(alert_deliveries)
                .where(alert_deliveries.c.rule_id == rule_id,
                       alert_deliveries.c.status == "pending")
                .values(status="failed", last_error="Quy tắc cảnh báo đã bị xóa")
            )
            conn.execute(
                sa.update(alert_deliveries).where(alert_deliveries.c.rule_id == rule_id)
                .values(rule_id=None)
            )
            result = conn.execute(sa.delete(alert_rules).where(alert_rules.c.id == rule_id))
            return result.rowcount == 1

    # ------------------------------------------------------------------ alert episodes
    def tracked_alerts(self) -> list[dict[str, Any]]:
        """Return the alerts whose episode is still tracked (not closed), ordered by id."""
        query = sa.select(alerts).where(alerts.c.closed_at.is_(None)).order_by(alerts.c.id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def get_alert(self, alert_id: int) -> dict[str, Any] | None:
        """Return one alert by id, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(alerts).where(alerts.c.id == alert_id)).first()
        return dict(row._mapping) if row else None

    def list_alerts(
        self, *, status: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Return alerts, newest first, optionally with one status."""
        query = sa.select(alerts).order_by(alerts.c.id.desc()).limit(limit).offset(offset)
        if status is not None:
            query = query.where(alerts.c.status == status)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def open_alert(
        self,
        values: Mapping[str, Any],
        deliveries: Sequence[Mapping[str, Any]],
        *,
        supersedes: int | None = None,
    ) -> int | None:
        """Insert a new episode and its deliveries; return its id, or None if one is tracked.

        `supersedes` names a tracked episode of the same key to close in the same transaction.
        """
        try:
            with self.engine.begin() as conn:
                if supersedes is not None:
                    conn.execute(
                        sa.update(alerts).where(alerts.c.id == supersedes)
                        .values(closed_at=values["opened_at"])
                    )
                result = conn.execute(
                    sa.insert(alerts).returning(alerts.c.id), self._columns_only(alerts, values)
                )
                alert_id = int(result.scalar_one())
                self._queue(conn, alert_id, deliveries)
                return alert_id
        except sa.exc.IntegrityError:
            # Another evaluator opened the same episode first: theirs is the one alert.
            return None

    def update_alert(
        self, alert_id: int, values: Mapping[str, Any], deliveries: Sequence[Mapping[str, Any]]
    ) -> None:
        """Change an episode's columns and queue its update deliveries in one transaction."""
        changes = {k: v for k, v in self._columns_only(alerts, values).items() if k != "id"}
        with self.engine.begin() as conn:
            conn.execute(sa.update(alerts).where(alerts.c.id == alert_id).values(**changes))
            self._queue(conn, alert_id, deliveries)

    def mark_seen(self, alert_ids: Sequence[int], seen_at: datetime) -> None:
        """Record that the hot spots of these episodes are still present."""
        if not alert_ids:
            return
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(alerts).where(alerts.c.id.in_(list(alert_ids)))
                .values(last_seen_at=seen_at)
            )

    def close_alert(self, alert_id: int, closed_at: datetime) -> None:
        """End an episode whose hot spot is gone (status `closed` unless already resolved)."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(alerts).where(alerts.c.id == alert_id)
                .values(
                    closed_at=closed_at, updated_at=closed_at,
                    status=sa.case((alerts.c.status == "resolved", "resolved"), else_="closed"),
                )
            )

    def set_alert_status(
        self, alert_id: int, *, from_statuses: Sequence[str], values: Mapping[str, Any]
    ) -> bool:
        """Change status columns only if the alert is in one of `from_statuses`; return success."""
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(alerts)
                .where(alerts.c.id == alert_id, alerts.c.status.in_(list(from_statuses)))
                .values(**self._columns_only(alerts, values))
            )
            return result.rowcount == 1

    # ------------------------------------------------------------------ delivery queue
    def list_deliveries(self, *, alert_id: int | None = None) -> list[dict[str, Any]]:
        """Return delivery rows in queue order, optionally for one alert."""
        query = sa.select(alert_deliveries).order_by(alert_deliveries.c.id)
        if alert_id is not None:
            query = query.where(alert_deliveries.c.alert_id == alert_id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def due_deliveries(self, now: datetime, *, limit: int = 100) -> list[dict[str, Any]]:
        """Return pending deliveries whose next attempt time has come, oldest first."""
        query = (
            sa.select(alert_deliveries)
            .where(alert_deliveries.c.status == "pending",
                   alert_deliveries.c.next_attempt_at <= now)
            .order_by(alert_deliveries.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def claim_delivery(self, delivery_id: int, now: datetime, lease_until: datetime) -> bool:
        """Reserve a due delivery for this sender until `lease_until`; return False if taken."""
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(alert_deliveries)
                .where(alert_deliveries.c.id == delivery_id,
                       alert_deliveries.c.status == "pending",
                       alert_deliveries.c.next_attempt_at <= now)
                .values(next_attempt_at=lease_until)
            )
            return result.rowcount == 1

    def finish_delivery(self, delivery_id: int, values: Mapping[str, Any]) -> None:
        """Record the outcome of one attempt (status, attempts, error, next attempt, sent_at)."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(alert_deliveries).where(alert_deliveries.c.id == delivery_id)
                .values(**self._columns_only(alert_deliveries, values))
            )

    def retry_delivery(self, delivery_id: int, now: datetime) -> bool:
        """Put a failed delivery back in the queue; return False if it is not failed."""
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(alert_deliveries)
                .where(alert_deliveries.c.id == delivery_id,
                       alert_deliveries.c.status == "failed")
                .values(status="pending", attempts=0, next_attempt_at=now)
            )
            return result.rowcount == 1


    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _columns_only(table: sa.Table, values: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in values.items() if k in table.c}

    @classmethod
    def _queue(
        cls, conn: sa.Connection, alert_id: int, deliveries: Sequence[Mapping[str, Any]]
    ) -> None:
        if deliveries:
            conn.execute(
                sa.insert(alert_deliveries),
                [{**cls._columns_only(alert_deliveries, d), "alert_id": alert_id}
                 for d in deliveries],
            )


# ---------------------------------------------------------------------- accounts and audit
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("areas", sa.JSON, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(12), nullable=False),
    sa.Column("areas", sa.JSON),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("revoked_at", sa.DateTime),
    sa.Column("last_used_at", sa.DateTime),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("session_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("token_id", sa.Integer, sa.ForeignKey("api_tokens.id"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime, nullable=False, index=True),
    sa.Column("user_name", sa.Text),
    sa.Column("role", sa.String(20)),
    sa.Column("method", sa.String(10), nullable=False),
    sa.Column("endpoint", sa.Text, nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("record_ids", sa.JSON, nullable=False),
    sa.Column("client", sa.Text),
)


class SecurityStore:
    """Users, hashed access tokens, browser sessions and the append-only audit log."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def create_user(self, name: str, role: str, areas: Sequence[str]) -> int:
        """Insert a user and return its id."""
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.insert(users).returning(users.c.id),
                {"name": name, "role": role, "areas": list(areas), "created_at": utcnow()},
            )
            return int(result.scalar_one())

    def get_user(self, name: str) -> dict[str, Any] | None:
        """Return a user by name, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(users).where(users.c.name == name)).first()
        return dict(row._mapping) if row else None

    def list_users(self) -> list[dict[str, Any]]:
        """Return every user, by name."""
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(users).order_by(users.c.name))]

    def set_user_disabled(self, name: str, disabled: bool) -> bool:
        """Disable or enable a user; return False when the user does not exist."""
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(users).where(users.c.name == name).values(disabled=disabled)
            )
            return bool(result.rowcount)

    def add_token(self, user_id: int, token_hash: str, prefix: str,
                  areas: Sequence[str] | None) -> int:
        """Store a token's hash and return its id."""
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.insert(api_tokens).returning(api_tokens.c.id),
                {"user_id": user_id, "token_hash": token_hash, "prefix": prefix,
                 "areas": list(areas) if areas is not None else None, "created_at": utcnow()},
            )
            return int(result.scalar_one())

    def token_owner(self, token_hash: str) -> dict[str, Any] | None:
        """Return token and user columns for a live token of an enabled user, or None."""
        query = (
            sa.select(
                api_tokens.c.id.label("token_id"), api_tokens.c.areas.label("token_areas"),
                users.c.id.label("user_id"), users.c.name, users.c.role, users.c.areas,
            )
            .join(users, users.c.id == api_tokens.c.user_id)
            .where(api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None),
                   users.c.disabled.is_(False))
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return dict(row._mapping) if row else None

    def list_tokens(self, user_id: int | None = None) -> list[dict[str, Any]]:
        """Return tokens (never their hashes' plain values), newest first."""
        query = (
            sa.select(api_tokens.c.id, api_tokens.c.prefix, api_tokens.c.areas,
                      api_tokens.c.created_at, api_tokens.c.revoked_at, users.c.name)
            .join(users, users.c.id == api_tokens.c.user_id)
            .order_by(api_tokens.c.id.desc())
        )
        if user_id is not None:
            query = query.where(api_tokens.c.user_id == user_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def revoke_token(self, token_id: int) -> bool:
        """Revoke a token and end its sessions; return False when it does not exist."""
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(api_tokens).where(api_tokens.c.id == token_id,
                                            api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            conn.execute(sa.delete(sessions).where(sessions.c.token_id == token_id))
            return bool(result.rowcount)

    def add_session(self, session_hash: str, token_id: int, csrf_token: str,
                    expires_at: datetime) -> None:
        """Store a browser session (its hash only)."""
        with self.engine.begin() as conn:
            conn.execute(sa.insert(sessions), {
                "session_hash": session_hash, "token_id": token_id, "csrf_token": csrf_token,
                "created_at": utcnow(), "expires_at": expires_at,
            })

    def session_owner(self, session_hash: str, now: datetime) -> dict[str, Any] | None:
        """Return the session's csrf token plus token and user columns, or None if expired."""
        query = (
            sa.select(
                sessions.c.csrf_token, api_tokens.c.id.label("token_id"),
                api_tokens.c.areas.label("token_areas"), users.c.id.label("user_id"),
                users.c.name, users.c.role, users.c.areas,
            )
            .join(api_tokens, api_tokens.c.id == sessions.c.token_id)
            .join(users, users.c.id == api_tokens.c.user_id)
            .where(sessions.c.session_hash == session_hash, sessions.c.expires_at > now,
                   api_tokens.c.revoked_at.is_(None), users.c.disabled.is_(False))
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return dict(row._mapping) if row else None

    def delete_session(self, session_hash: str) -> None:
        """End a browser session."""
        with self.engine.begin() as conn:
            conn.execute(sa.delete(sessions).where(sessions.c.session_hash == session_hash))

    def append_audit(self, entry: Mapping[str, Any]) -> None:
        """Append one audit entry (the log has no update or delete)."""
        with self.engine.begin() as conn:
            conn.execute(sa.insert(audit_log), {"at": utcnow(), **entry})

    def audit_entries(self, *, user_name: str | None = None, limit: int = 100,
                      offset: int = 0) -> list[dict[str, Any]]:
        """Return audit entries, newest first."""
        query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit).offset(offset)
        if user_name:
            query = query.where(audit_log.c.user_name == user_name)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]
