"""Alert rules (CRUD) and alerts (list, acknowledge, resolve)."""

from __future__ import annotations

import logging
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, HTTPException, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from api.deps import EngineDep, MonitorDep, RecordId, SettingsDep
from api.schemas import IsoDay, UtcDateTime
from api.security import Admin, Officer, Principal, Viewer, public_text
from pipeline.config import Settings
from pipeline.monitor.alerts import (
    AlertNotFound,
    AlertStateError,
    RuleError,
    ack_alert,
    add_rule,
    parse_rule,
    resolve_alert,
)
from pipeline.monitor.engine import Monitor, run_alerts
from pipeline.store import AlertStore
from pipeline.taxonomy import default_taxonomy

router = APIRouter(tags=["alerts"])
logger = logging.getLogger("tamtu.api")


# Topic codes of the taxonomy: listed in the schema, as the rule check accepts no others.
TopicCode = Annotated[str, Field(json_schema_extra={"enum": list(default_taxonomy().codes)})]


class AlertRuleIn(BaseModel):
    """An alert rule as the caller sends it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=r"\S")
    topics: list[TopicCode] = Field(default_factory=list, max_length=20)
    areas: list[str] = Field(default_factory=list, max_length=200)
    min_severity: Literal["low", "medium", "high"] = "low"
    channels: list[dict[str, Any]] = Field(default_factory=list, max_length=20)
    quiet_hours: str | None = Field(default=None, max_length=20, examples=["22:00-06:00"],
                                    pattern=r"^\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*$")
    enabled: StrictBool = True


class AlertRulePublic(AlertRuleIn):
    """A stored rule; webhook secrets are never returned."""

    id: int


class AlertPublic(BaseModel):
    """One alert: a hot-spot episode and its handling."""

    id: int
    area: str
    topic: str
    status: str
    severity: str
    count: int
    expected: float
    score: float
    window_start: date
    window_end: date
    explanation: str
    petition_ids: list[int]
    revision: int
    opened_at: UtcDateTime
    updated_at: UtcDateTime
    closed_at: UtcDateTime | None
    acked_at: UtcDateTime | None
    acked_by: str | None
    resolved_at: UtcDateTime | None
    resolved_by: str | None
    assignee: str | None = None


class AlertsPublic(BaseModel):
    """A page of alerts."""

    data: list[AlertPublic]
    count: int


class AlertActionIn(BaseModel):
    """An optional note; the signed-in user is recorded as the one who acted."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=2000)


def _public_rule(row: dict[str, Any]) -> AlertRulePublic:
    channels = [
        {**c, "secret": "***"} if c.get("secret") else dict(c) for c in row.get("channels") or []
    ]
    return AlertRulePublic(
        id=row["id"], name=row["name"], topics=row.get("topics") or [],
        areas=row.get("areas") or [], min_severity=row["min_severity"], channels=channels,
        quiet_hours=row.get("quiet_hours"), enabled=bool(row["enabled"]),
    )


def _rule(body: AlertRuleIn) -> Any:
    try:
        return parse_rule(body.model_dump(), known_topics=default_taxonomy().codes)
    except RuleError as error:
        raise HTTPException(422, str(error)) from error


@router.get("/alert-rules", response_model=list[AlertRulePublic], summary="Các quy tắc cảnh báo")
def list_rules(engine: EngineDep, _principal: Admin) -> list[AlertRulePublic]:
    """Return every alert rule (webhook secrets hidden)."""
    return [_public_rule(r) for r in AlertStore(engine).list_rules()]


@router.post("/alert-rules", response_model=AlertRulePublic, status_code=201,
             summary="Thêm quy tắc cảnh báo")
def create_rule(body: AlertRuleIn, engine: EngineDep, _principal: Admin,
                settings: SettingsDep, monitor: MonitorDep, background: BackgroundTasks,
                ) -> AlertRulePublic:
    """Store a new rule (names are unique); the hot spots open now are evaluated against it.

    Their notifications are queued and go out with the next `tamtu alerts run`.
    """
    store = AlertStore(engine)
    try:
        rule = add_rule(store, _rule(body))
    except RuleError as error:
        raise HTTPException(409, str(error)) from error
    assert rule.id is not None
    background.add_task(_evaluate_now, settings, monitor)
    return _public_rule(store.get_rule(rule.id) or {})


def _evaluate_now(settings: Settings, monitor: Monitor) -> None:
    try:
        run_alerts(settings, monitor.store, send=False, monitor=monitor)
    except Exception as error:  # noqa: BLE001 - the rule is stored; the next run evaluates it
        logger.warning("alert evaluation after a new rule skipped: %s", type(error).__name__)


@router.put("/alert-rules/{rule_id}", response_model=AlertRulePublic, summary="Sửa quy tắc")
def update_rule(rule_id: RecordId, body: AlertRuleIn, engine: EngineDep, _principal: Admin,
                settings: SettingsDep, monitor: MonitorDep, background: BackgroundTasks,
                ) -> AlertRulePublic:
    """Replace a rule's settings."""
    store = AlertStore(engine)
    rule = _rule(body)
    same_name = store.get_rule_by_name(rule.name)
    if same_name is not None and same_name["id"] != rule_id:
        raise HTTPException(409, f"Đã có quy tắc khác tên '{rule.name}'")
    existing = store.get_rule(rule_id)
    if existing is None:
        raise HTTPException(404, f"Không có quy tắc số {rule_id}")
    row = rule.as_row()
    # Secrets are shown masked; a masked secret sent back means "keep the stored one".
    stored = {(c.get("type"), c.get("url")): c.get("secret") for c in existing["channels"] or []}
    for channel in row["channels"]:
        if channel.get("secret") == "***":
            channel["secret"] = stored.get((channel.get("type"), channel.get("url")))
            if not channel["secret"]:
                raise HTTPException(422, "Cần nhập lại khóa bí mật của webhook")
    store.update_rule(rule_id, row)
    background.add_task(_evaluate_now, settings, monitor)
    return _public_rule(store.get_rule(rule_id) or {})


@router.delete("/alert-rules/{rule_id}", status_code=204, summary="Xóa quy tắc")
def delete_rule(rule_id: RecordId, engine: EngineDep, _principal: Admin) -> Response:
    """Delete a rule (its pending deliveries are cancelled)."""
    if not AlertStore(engine).delete_rule(rule_id):
        raise HTTPException(404, f"Không có quy tắc số {rule_id}")
    return Response(status_code=204)


@router.get("/alerts", response_model=AlertsPublic, summary="Các cảnh báo, mới nhất trước")
def list_alerts(
    engine: EngineDep,
    principal: Viewer,
    status: Annotated[
        Literal["open", "acknowledged", "resolved", "closed"] | None, Query()
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    as_of: Annotated[IsoDay | None, Query(
        description="Chỉ các cảnh báo có khoảng số liệu chứa ngày này (YYYY-MM-DD)")] = None,
) -> AlertsPublic:
    """Return alerts, optionally of one status or live on one day of the data."""
    rows = AlertStore(engine).list_alerts(status=status, limit=limit, offset=offset,
                                          covering=as_of)
    data = [
        AlertPublic(**{**r, "explanation": public_text(principal, r["explanation"])})
        for r in rows if principal.may_see_area(r["area"])
    ]
    return AlertsPublic(data=data, count=len(data))


def _act(action: Any, engine: Any, alert_id: int, body: AlertActionIn, principal: Principal
         ) -> AlertPublic:
    store = AlertStore(engine)
    existing = store.get_alert(alert_id)
    if existing is not None and not principal.may_see_area(existing["area"]):
        raise HTTPException(403, f"Cảnh báo số {alert_id} ngoài địa bàn phụ trách")
    try:
        return AlertPublic(**action(store, alert_id, principal.name, body.note))
    except AlertNotFound as error:
        raise HTTPException(404, str(error)) from error
    except AlertStateError as error:
        raise HTTPException(409, str(error)) from error


@router.post("/alerts/{alert_id}/ack", response_model=AlertPublic, summary="Xác nhận đã nắm")
def acknowledge(alert_id: RecordId, engine: EngineDep, principal: Officer,
                body: AlertActionIn | None = None) -> AlertPublic:
    """Mark an alert as taken in hand by the caller."""
    return _act(ack_alert, engine, alert_id, body or AlertActionIn(), principal)


@router.post("/alerts/{alert_id}/resolve", response_model=AlertPublic, summary="Đã giải quyết")
def resolve(alert_id: RecordId, engine: EngineDep, principal: Officer,
            body: AlertActionIn | None = None) -> AlertPublic:
    """Mark an alert as resolved by the caller; its episode stays silent unless it grows."""
    return _act(resolve_alert, engine, alert_id, body or AlertActionIn(), principal)
