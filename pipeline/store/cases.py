"""Petitions as cases: review and correction of labels and place, follow-up status, owner and
due day, and the history of every change; alerts as cases (assignee, notes, reopen).

A correction moves the petition's counts in the aggregates in the same transaction
(`aggregates.move_petition`), so trends and hot spots follow the office's judgement at once.
The model's own labels are kept (`model_topics`, `model_signals`) the first time a person
changes them, which is what agreement figures and retraining read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from pipeline.store.aggregates import move_petition
from pipeline.store.database import utcnow
from pipeline.store.schema import (
    alert_events,
    alerts,
    near_duplicate_clusters,
    petition_events,
    petition_signals,
    petition_topics,
    petitions,
)

# received → in_progress → answered / resolved
CASE_STATUSES: tuple[str, ...] = ("received", "in_progress", "answered", "resolved")
OPEN_STATUSES: tuple[str, ...] = ("received", "in_progress")
CASE_STATUS_NAMES: dict[str, str] = {
    "received": "Tiếp nhận",
    "in_progress": "Đang xử lý",
    "answered": "Đã trả lời",
    "resolved": "Đã giải quyết",
}

# Days from receipt to the due day, per source type (configurable, see docs/cases.md):
# complaints 10 days to accept + 30 to settle (Luật Khiếu nại 2011, Điều 27 and 28);
# denunciations 7 working days to accept + 30 to settle (Luật Tố cáo 2018, Điều 24 and 30);
# other texts 10 days to handle the letter (Thông tư 05/2021/TT-TTCP) and 5 to answer.
DEFAULT_DUE_DAYS: dict[str, int] = {
    "complaint": 40,
    "denunciation": 40,
    "petition": 15,
    "feedback": 15,
    "social": 15,
    "minutes": 30,
}


# Due days, answers and overdue cases are counted in the office's own calendar.
OFFICE_TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def office_today() -> date:
    """Return today's date in Vietnam (the day a due date or an answer falls on)."""
    return datetime.now(OFFICE_TIMEZONE).date()


class CaseError(ValueError):
    """A change that cannot be made (unknown petition, status, or nothing to change)."""


@dataclass(frozen=True)
class Correction:
    """What a reviewer says about a petition; None leaves a field as it is."""

    topics: tuple[str, ...] | None = None
    signals: tuple[str, ...] | None = None
    # (area, village, commune, province) as the place resolver returns them
    place: tuple[str, str | None, str | None, str | None] | None = None
    note: str | None = None


def _due_days(source_type: str, due_days: Mapping[str, int] | None) -> int:
    table = {**DEFAULT_DUE_DAYS, **(due_days or {})}
    return int(table.get(source_type, table["feedback"]))


def due_day(row: Mapping[str, Any], due_days: Mapping[str, int] | None = None) -> date | None:
    """Return a petition's due day: the one set on it, else receipt + its source type's days."""
    if row.get("due_on"):
        return row["due_on"]  # type: ignore[no-any-return]
    received = row.get("received_at")
    if not received:
        return None
    return received + timedelta(days=_due_days(str(row.get("source_type")), due_days))  # type: ignore[no-any-return]


def is_overdue(row: Mapping[str, Any], today: date,
               due_days: Mapping[str, int] | None = None) -> bool:
    """True when a petition is still open after its due day."""
    due = due_day(row, due_days)
    return row.get("case_status", "received") in OPEN_STATUSES and due is not None and due < today


def due_expression(dialect: str, due_days: Mapping[str, int] | None = None
                   ) -> sa.ColumnElement[Any]:
    """SQL for a petition's due day (as `due_day`), on SQLite or PostgreSQL."""
    table = {**DEFAULT_DUE_DAYS, **(due_days or {})}
    days = sa.case(*((petitions.c.source_type == k, v) for k, v in table.items()),
                   else_=table["feedback"])
    if dialect == "postgresql":
        computed: Any = petitions.c.received_at + days
        return sa.func.coalesce(petitions.c.due_on, computed)
    computed = sa.func.date(petitions.c.received_at,
                            sa.literal("+") + sa.cast(days, sa.String) + " days")
    # SQLite keeps dates as ISO text, which compares in date order.
    return sa.func.coalesce(petitions.c.due_on, computed, type_=sa.String)


def overdue_condition(dialect: str, today: date,
                      due_days: Mapping[str, int] | None = None) -> sa.ColumnElement[bool]:
    """SQL condition: still open and past its due day on `today`."""
    due = due_expression(dialect, due_days)
    limit: Any = today if dialect == "postgresql" else today.isoformat()
    return sa.and_(petitions.c.case_status.in_(OPEN_STATUSES), due.is_not(None), due < limit)


def same_place(place: tuple[str | None, str | None, str | None]) -> sa.ColumnElement[bool]:
    """Petitions resolved to the very units of a scope place (an empty place matches nothing)."""
    levels = [(column, value) for column, value in zip(
        (petitions.c.village, petitions.c.commune, petitions.c.province), place, strict=True
    ) if value is not None]
    if not levels:
        return sa.false()
    return sa.and_(*(column == value for column, value in levels))


def _event(conn: Connection, table: sa.Table, key: str, record_id: int, user: str, action: str,
           changes: Mapping[str, Any], note: str | None, at: datetime) -> None:
    conn.execute(sa.insert(table).values(**{key: record_id}, at=at, user_name=user,
                                         action=action, changes=dict(changes), note=note))


def _user(user: str) -> str:
    if not user or not user.strip():
        raise CaseError("Cần ghi rõ người thực hiện")
    return user.strip()


def _locked_row(conn: Connection, petition_id: int) -> dict[str, Any]:
    # A write that changes nothing takes the row's lock on PostgreSQL and the database's write
    # lock on SQLite (whose driver opens the transaction only at the first write), so two
    # reviewers of one petition take turns: the second reads what the first wrote.
    conn.execute(sa.update(petitions).where(petitions.c.id == petition_id)
                 .values(id=petitions.c.id))
    row = conn.execute(sa.select(petitions).where(petitions.c.id == petition_id)
                       ).mappings().first()
    if row is None:
        raise CaseError(f"Không có đơn số {petition_id}")
    return dict(row)


def review_petition(engine: Engine, petition_id: int, user: str, correction: Correction,
                    *, now: datetime | None = None) -> dict[str, Any]:
    """Mark a petition reviewed, applying the correction if any; return the changed fields.

    Topics and signals are replaced as given (an empty topic list means `other`); the
    aggregates move with them in the same transaction, and the change is in the history.
    """
    user = _user(user)
    at = now or utcnow()
    with engine.begin() as conn:
        old = _locked_row(conn, petition_id)
        new = dict(old)
        changes: dict[str, list[Any]] = {}
        if correction.topics is not None:
            topics = list(dict.fromkeys(correction.topics)) or ["other"]
            if len(topics) > 1 and "other" in topics:
                topics.remove("other")
            if sorted(topics) != sorted(old["topics"] or []):
                changes["topics"] = [old["topics"], topics]
                new["topics"] = topics
        if correction.signals is not None:
            signals = sorted(dict.fromkeys(correction.signals))
            if signals != sorted(old["signals"] or []):
                changes["signals"] = [old["signals"], signals]
                new["signals"] = signals
        if correction.place is not None:
            area, village, commune, province = correction.place
            if (area, village, commune, province) != (old["area"], old["village"],
                                                      old["commune"], old["province"]):
                changes["area"] = [old["area"], area]
                new.update(area=area, village=village, commune=commune, province=province)
        values: dict[str, Any] = {"reviewed_at": at, "reviewed_by": user}
        if changes:
            values.update({k: new[k] for k in ("topics", "signals", "area", "village",
                                               "commune", "province")})
            if old["model_topics"] is None:
                values["model_topics"] = old["topics"]
                values["model_signals"] = old["signals"]
            _replace_labels(conn, petition_id, old, new)
            move_petition(conn, old, new)
        conn.execute(sa.update(petitions).where(petitions.c.id == petition_id).values(**values))
        _event(conn, petition_events, "petition_id", petition_id, user,
               "correct" if changes else "review", changes, correction.note, at)
    return changes


def _replace_labels(conn: Connection, petition_id: int, old: Mapping[str, Any],
                    new: Mapping[str, Any]) -> None:
    scores = old.get("scores") or {}
    if new["topics"] != old["topics"]:
        conn.execute(sa.delete(petition_topics).where(petition_topics.c.petition_id == petition_id))
        conn.execute(sa.insert(petition_topics), [
            {"petition_id": petition_id, "topic": t, "score": float(scores.get(t, 1.0))}
            for t in new["topics"]])
    if new["signals"] != old["signals"]:
        conn.execute(sa.delete(petition_signals)
                     .where(petition_signals.c.petition_id == petition_id))
        if new["signals"]:
            conn.execute(sa.insert(petition_signals), [
                {"petition_id": petition_id, "signal": s} for s in new["signals"]])


def update_cases(engine: Engine, petition_ids: Sequence[int], user: str, *,
                 status: str | None = None, owner: str | None = None,
                 due_on: date | None = None, note: str | None = None,
                 today: date | None = None, now: datetime | None = None) -> int:
    """Set status, owner and/or due day on petitions (bulk); return how many changed.

    An empty `owner` ("") clears it. Turning a case answered or resolved records the day.
    """
    user = _user(user)
    if status is not None and status not in CASE_STATUSES:
        raise CaseError(f"Trạng thái '{status}' không có; chọn một trong: "
                        + ", ".join(CASE_STATUSES))
    if status is None and owner is None and due_on is None and not note:
        raise CaseError("Chưa chọn thay đổi nào (trạng thái, người phụ trách, hạn xử lý, ghi chú)")
    at = now or utcnow()
    day = today or office_today()
    changed = 0
    with engine.begin() as conn:
        for petition_id in dict.fromkeys(petition_ids):
            old = _locked_row(conn, petition_id)
            values: dict[str, Any] = {}
            if status is not None and status != old["case_status"]:
                values["case_status"] = status
                if status in OPEN_STATUSES:
                    values["answered_on"] = None
                elif old["case_status"] in OPEN_STATUSES:
                    # The first answer counts for "on time"; answered → resolved keeps it.
                    values["answered_on"] = day
            if owner is not None and (owner.strip() or None) != old["owner"]:
                values["owner"] = owner.strip() or None
            if due_on is not None and due_on != old["due_on"]:
                values["due_on"] = due_on
            if not values and not note:
                continue
            changes = {k: [_plain(old[k]), _plain(v)] for k, v in values.items()}
            if values:
                conn.execute(sa.update(petitions).where(petitions.c.id == petition_id)
                             .values(**values))
            _event(conn, petition_events, "petition_id", petition_id, user,
                   "status" if values else "note", changes, note, at)
            changed += 1
    return changed


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def petition_history(engine: Engine, petition_id: int) -> list[dict[str, Any]]:
    """Return a petition's changes, oldest first."""
    query = (sa.select(petition_events).where(petition_events.c.petition_id == petition_id)
             .order_by(petition_events.c.id))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def confidence_of(topics: Sequence[str], scores: Mapping[str, float]) -> float | None:
    """Return the model's confidence in a choice of topics from its stored scores.

    The lowest score among the chosen topics; for `other` alone, one minus the best topic's
    score (the chance that no topic applies). None when no scores were stored (labelled
    history, where a person chose the topics).
    """
    if not scores:
        return None
    picked = [float(scores[t]) for t in topics if t in scores]
    if picked:
        return min(picked)
    return 1.0 - max(float(v) for v in scores.values())


def enrich(row: Mapping[str, Any], today: date, due_days: Mapping[str, int] | None = None
           ) -> dict[str, Any]:
    """Return a petition row with its computed follow-up fields: due day, overdue, confidence."""
    confidence = confidence_of(row.get("topics") or [], row.get("scores") or {})
    return {**row, "due_on": due_day(row, due_days), "overdue": is_overdue(row, today, due_days),
            "confidence": round(confidence, 4) if confidence is not None else None}


def review_queue(engine: Engine, *, places_allowed: Any = None, start: date | None = None,
                 end: date | None = None, threshold: float = 0.6, limit: int = 50,
                 offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Return a page of unreviewed petitions, the doubtful first, and how many wait.

    Doubtful: the model's confidence is under `threshold`, or the topics differ from those of
    the first petition of its near-duplicate cluster. Then by confidence, lowest first, then
    newest. Petitions labelled by a person at import (no scores) are not queued.
    """
    first = petitions.alias("first_member")
    conditions = [petitions.c.reviewed_at.is_(None), petitions.c.is_response.is_(False)]
    if start is not None:
        conditions.append(petitions.c.received_at >= start)
    if end is not None:
        conditions.append(petitions.c.received_at <= end)
    if places_allowed is not None:
        conditions.append(sa.or_(sa.false(), *(same_place(p) for p in places_allowed)))
    joined = (petitions.outerjoin(near_duplicate_clusters,
                                  near_duplicate_clusters.c.petition_id == petitions.c.id)
              .outerjoin(first, sa.and_(first.c.id == near_duplicate_clusters.c.cluster_id,
                                        first.c.id != petitions.c.id)))
    light = (sa.select(petitions.c.id, petitions.c.topics, petitions.c.scores,
                       petitions.c.received_at, first.c.topics.label("cluster_topics"))
             .select_from(joined).where(*conditions))
    ranked: list[tuple[Any, ...]] = []
    with engine.connect() as conn:
        for row in conn.execute(light).mappings():
            confidence = confidence_of(row["topics"] or [], row["scores"] or {})
            if confidence is None:
                continue
            cluster = row["cluster_topics"]
            disagrees = cluster is not None and sorted(cluster) != sorted(row["topics"] or [])
            doubtful = disagrees or confidence < threshold
            received = row["received_at"].toordinal() if row["received_at"] else 0
            ranked.append((not doubtful, confidence, -received, -row["id"], row["id"],
                           disagrees, cluster))
        ranked.sort()
        page = ranked[offset:offset + limit]
        ids = [r[4] for r in page]
        full = {r["id"]: dict(r) for r in conn.execute(
            sa.select(petitions).where(petitions.c.id.in_(ids))).mappings()} if ids else {}
    rows = []
    for _, confidence, _, _, petition_id, disagrees, cluster in page:
        rows.append({**full[petition_id], "confidence": round(confidence, 4),
                     "cluster_disagrees": disagrees, "cluster_topics": cluster})
    return rows, len(ranked)


def reviewed_petitions(engine: Engine, *, start: date | None = None, end: date | None = None,
                       places_allowed: Any = None) -> list[dict[str, Any]]:
    """Return reviewed petitions (id, text, final and model labels), by review time.

    `start`/`end` bound the review day, so "this month's reviewed petitions" is one call.
    """
    columns = (petitions.c.id, petitions.c.text, petitions.c.topics, petitions.c.signals,
               petitions.c.scores, petitions.c.model_topics, petitions.c.model_signals,
               petitions.c.reviewed_at, petitions.c.reviewed_by, petitions.c.received_at)
    query = sa.select(*columns).where(petitions.c.reviewed_at.is_not(None))
    if places_allowed is not None:
        query = query.where(sa.or_(sa.false(), *(same_place(p) for p in places_allowed)))
    if start is not None:
        query = query.where(petitions.c.reviewed_at >= datetime.combine(start, datetime.min.time()))
    if end is not None:
        query = query.where(petitions.c.reviewed_at < datetime.combine(
            end + timedelta(days=1), datetime.min.time()))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query.order_by(petitions.c.reviewed_at,
                                                             petitions.c.id)).mappings()]


def follow_up_started(engine: Engine, *, start: date | None = None, end: date | None = None,
                      ids: set[int] | None = None) -> bool:
    """True when someone has recorded a status, owner or due day on a petition received
    between two days (and among `ids`, when given): the office follows these up here."""
    query = (sa.select(petition_events.c.petition_id)
             .join(petitions, petitions.c.id == petition_events.c.petition_id)
             .where(petition_events.c.action == "status"))
    if start is not None:
        query = query.where(petitions.c.received_at >= start)
    if end is not None:
        query = query.where(petitions.c.received_at <= end)
    with engine.connect() as conn:
        for (petition_id,) in conn.execute(query.distinct()):
            if ids is None or petition_id in ids:
                return True
    return False


def case_counts(engine: Engine, *, today: date, start: date | None = None,
                end: date | None = None, places_allowed: Any = None,
                due_days: Mapping[str, int] | None = None,
                ids: set[int] | None = None) -> dict[str, int]:
    """Count petitions received between two days by status, on time, late and overdue.

    `answered_on_time`/`answered_late` compare the answer day with the due day;
    `overdue` counts open cases past their due day on `today`; a case answered after `today`
    counts as still being handled. Counted in the database (grouped), so the cost does not grow
    with the rows returned. `ids` keeps only those petitions (a report over one area: its
    month's rows are read, labelled by the database).
    """
    dialect = engine.dialect.name
    day: Any = today if dialect == "postgresql" else today.isoformat()
    due = due_expression(dialect, due_days)
    still_open = sa.or_(petitions.c.case_status.in_(OPEN_STATUSES),
                        petitions.c.answered_on.is_(None), petitions.c.answered_on > today)
    status = sa.case((still_open, sa.case(
        (petitions.c.case_status.in_(OPEN_STATUSES), petitions.c.case_status),
        else_="in_progress")), else_=petitions.c.case_status).label("status")
    timing = sa.case(
        (sa.and_(still_open, due.is_not(None), due < day), "overdue"),
        (sa.and_(sa.not_(still_open), due.is_not(None), petitions.c.answered_on <= due),
         "answered_on_time"),
        (sa.and_(sa.not_(still_open), due.is_not(None)), "answered_late"),
        else_="").label("timing")
    conditions = [petitions.c.is_response.is_(False)]
    if start is not None:
        conditions.append(petitions.c.received_at >= start)
    if end is not None:
        conditions.append(petitions.c.received_at <= end)
    if places_allowed is not None:
        conditions.append(sa.or_(sa.false(), *(same_place(p) for p in places_allowed)))
    counts = {s: 0 for s in CASE_STATUSES} | {"answered_on_time": 0, "answered_late": 0,
                                               "overdue": 0, "total": 0}
    with engine.connect() as conn:
        if ids is None:
            rows = conn.execute(sa.select(status, timing, sa.func.count()).where(*conditions)
                                .group_by(status, timing)).all()
        else:
            rows = [(s, t, 1) for i, s, t in conn.execute(
                sa.select(petitions.c.id, status, timing).where(*conditions)) if i in ids]
    for label, when, number in rows:
        counts["total"] += number
        counts[label] = counts.get(label, 0) + number
        if when:
            counts[when] += number
    return counts


# ---------------------------------------------------------------------- alerts as cases
def alert_event(engine: Engine, alert_id: int, user: str, action: str, *,
                note: str | None = None, changes: Mapping[str, Any] | None = None,
                now: datetime | None = None) -> None:
    """Append one entry to an alert's history."""
    with engine.begin() as conn:
        _event(conn, alert_events, "alert_id", alert_id, _user(user), action, changes or {},
               note, now or utcnow())


def assign_alert(engine: Engine, alert_id: int, user: str, assignee: str | None,
                 note: str | None = None, *, now: datetime | None = None) -> dict[str, Any]:
    """Give an alert to a person (None or '' takes it back); return the alert."""
    user = _user(user)
    at = now or utcnow()
    assignee = (assignee or "").strip() or None
    with engine.begin() as conn:
        row = conn.execute(sa.select(alerts).where(alerts.c.id == alert_id)).mappings().first()
        if row is None:
            raise CaseError(f"Không tìm thấy cảnh báo số {alert_id}")
        conn.execute(sa.update(alerts).where(alerts.c.id == alert_id)
                     .values(assignee=assignee, updated_at=at))
        _event(conn, alert_events, "alert_id", alert_id, user, "assign",
               {"assignee": [row["assignee"], assignee]}, note, at)
        return dict(conn.execute(sa.select(alerts).where(alerts.c.id == alert_id)).mappings()
                    .one())


def reopen_alert(engine: Engine, alert_id: int, user: str, note: str | None = None, *,
                 now: datetime | None = None) -> dict[str, Any]:
    """Reopen a resolved or acknowledged alert (undo); return the alert."""
    user = _user(user)
    at = now or utcnow()
    with engine.begin() as conn:
        row = conn.execute(sa.select(alerts).where(alerts.c.id == alert_id)).mappings().first()
        if row is None:
            raise CaseError(f"Không tìm thấy cảnh báo số {alert_id}")
        if row["status"] not in ("acknowledged", "resolved"):
            state = "đang mở" if row["status"] == "open" else "đã kết thúc đợt"
            raise CaseError(f"Cảnh báo số {alert_id} {state}, không có gì để mở lại")
        values: dict[str, Any] = {"status": "open" if row["closed_at"] is None else "closed",
                                  "updated_at": at, "resolved_at": None, "resolved_by": None,
                                  "resolve_note": None, "acked_at": None, "acked_by": None,
                                  "ack_note": None}
        conn.execute(sa.update(alerts).where(alerts.c.id == alert_id).values(**values))
        _event(conn, alert_events, "alert_id", alert_id, user, "reopen",
               {"status": [row["status"], values["status"]]}, note, at)
        return dict(conn.execute(sa.select(alerts).where(alerts.c.id == alert_id)).mappings()
                    .one())


def alert_history(engine: Engine, alert_id: int) -> list[dict[str, Any]]:
    """Return an alert's history, oldest first."""
    query = (sa.select(alert_events).where(alert_events.c.alert_id == alert_id)
             .order_by(alert_events.c.id))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]
