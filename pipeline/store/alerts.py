"""Alert rules, alert episodes and the delivery queue."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from pipeline.store.database import utcnow
from pipeline.store.schema import alert_deliveries, alert_rules, alerts


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
        self, *, status: str | None = None, limit: int = 100, offset: int = 0,
        covering: date | None = None,
    ) -> list[dict[str, Any]]:
        """Return alerts, newest first, optionally with one status or live on one data day.

        An alert is live on a day when its episode's data window contains that day.
        """
        query = sa.select(alerts).order_by(alerts.c.id.desc()).limit(limit).offset(offset)
        if status is not None:
            query = query.where(alerts.c.status == status)
        if covering is not None:
            query = query.where(alerts.c.window_start <= covering,
                                alerts.c.window_end >= covering)
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
    def notified_targets(self, alert_ids: Sequence[int]) -> dict[int, set[tuple[str, str]]]:
        """Return {alert id: {(channel, target)}} of every delivery queued for those alerts."""
        found: dict[int, set[tuple[str, str]]] = {alert_id: set() for alert_id in alert_ids}
        if not alert_ids:
            return found
        query = sa.select(alert_deliveries.c.alert_id, alert_deliveries.c.channel,
                          alert_deliveries.c.target).where(
            alert_deliveries.c.alert_id.in_(list(alert_ids)))
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                found[row.alert_id].add((row.channel, row.target))
        return found

    def queue_deliveries(self, alert_id: int, deliveries: Sequence[Mapping[str, Any]]) -> None:
        """Queue deliveries of an episode that is already tracked (for rules added since)."""
        with self.engine.begin() as conn:
            self._queue(conn, alert_id, deliveries)

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
