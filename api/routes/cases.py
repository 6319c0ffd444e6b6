"""Review and follow-up: the review queue, corrections, case status, owner and due day,
agreement of the model with reviewed petitions, and alerts handled as cases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from api.deps import EngineDep, GazetteerDep, RecordId, SettingsDep, StoreDep
from api.routes.alerts import AlertPublic
from api.schemas import IsoDay, PetitionPublic, UtcDateTime
from api.security import (
    Analyst,
    Officer,
    Principal,
    Viewer,
    audit_records,
    petition_for,
    public_text,
    sees_clear_text,
)
from pipeline.monitor.engine import data_extent
from pipeline.store import AlertStore, get_petition
from pipeline.store.cases import (
    CASE_STATUSES,
    CaseError,
    Correction,
    alert_event,
    alert_history,
    assign_alert,
    case_counts,
    enrich,
    office_today,
    petition_history,
    reopen_alert,
    review_petition,
    review_queue,
    reviewed_petitions,
    update_cases,
)
from pipeline.store.petitions import PetitionFilter, matching_ids
from pipeline.taxonomy import OTHER, default_taxonomy
from pipeline.text.places import PlaceStatus, resolve_place
from pipeline.text.redact import redact
from pipeline.text.scopes import PlaceKey
from pipeline.text.signals import SIGNALS

router = APIRouter(tags=["cases"])

MAX_BULK = 5000
QUEUE_DAYS = 92


class ReviewIn(BaseModel):
    """A reviewer's verdict: nothing but a note accepts the model's labels as they are."""

    model_config = ConfigDict(extra="forbid")

    topics: list[str] | None = Field(default=None, max_length=10)
    signals: list[str] | None = Field(default=None, max_length=10)
    area: str | None = Field(default=None, max_length=500,
                             description="Địa bàn đúng (thôn, xã, tỉnh)")
    note: str | None = Field(default=None, max_length=2000)


class CaseFilterIn(BaseModel):
    """The filters of the petition list, to act on every petition they match."""

    model_config = ConfigDict(extra="forbid")

    topic: str | None = Field(default=None, max_length=40)
    area: str | None = Field(default=None, max_length=200)
    start: IsoDay | None = Field(default=None, alias="from")
    end: IsoDay | None = Field(default=None, alias="to")
    source_type: str | None = Field(default=None, max_length=40)
    signal: str | None = Field(default=None, max_length=20)
    q: str | None = Field(default=None, max_length=200)
    ids: list[int] | None = Field(default=None, max_length=1000,
                                  description="Chỉ các đơn có số hiệu này (như danh sách)")
    status: Literal[CASE_STATUSES] | None = None  # type: ignore[valid-type]
    overdue: StrictBool = False
    as_of: IsoDay | None = Field(default=None, description="Ngày xét quá hạn (mặc định hôm nay)")


class CaseUpdateIn(BaseModel):
    """A change to one or many cases: by ids, or every petition a filter matches."""

    model_config = ConfigDict(extra="forbid")

    ids: list[int] | None = Field(default=None, max_length=MAX_BULK)
    filters: CaseFilterIn | None = None
    status: Literal[CASE_STATUSES] | None = None  # type: ignore[valid-type]
    owner: str | None = Field(default=None, max_length=200,
                              description="Người phụ trách; chuỗi rỗng để bỏ")
    due_on: IsoDay | None = None
    note: str | None = Field(default=None, max_length=2000)


class CaseUpdatePublic(BaseModel):
    """How many petitions were changed."""

    matched: int
    changed: int


class EventPublic(BaseModel):
    """One change in a history: who, when, what (field: [before, after]) and a note."""

    at: UtcDateTime
    user_name: str
    action: str
    changes: dict[str, Any]
    note: str | None


class ReviewItemPublic(PetitionPublic):
    """A petition in the review queue, with why it is there."""

    cluster_disagrees: bool = False
    cluster_topics: list[str] | None = None


class ReviewQueuePublic(BaseModel):
    """A page of the review queue and how many petitions wait."""

    data: list[ReviewItemPublic]
    count: int
    threshold: float


class CaseSummaryPublic(BaseModel):
    """Petitions received in a period by status, answered on time or late, and overdue."""

    start: date | None
    end: date | None
    as_of: date
    received: int
    in_progress: int
    answered: int
    resolved: int
    answered_on_time: int
    answered_late: int
    overdue: int
    total: int


class AgreementPublic(BaseModel):
    """How often the labels given at ingest were kept by the reviewers, per month."""

    month: str
    reviewed: int
    agreed: int
    agreement: float | None
    previous_month: str
    previous_agreement: float | None
    warning: str | None


class AlertCaseIn(BaseModel):
    """An assignee and/or a note for an alert."""

    model_config = ConfigDict(extra="forbid")

    assignee: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=2000)


# ---------------------------------------------------------------------- helpers
def _visible(principal: Principal, engine: Any, petition_id: int) -> dict[str, Any]:
    row = get_petition(engine, petition_id)
    if row is None:
        raise HTTPException(404, f"Không có đơn số {petition_id}")
    if not principal.may_see_row(row):
        raise HTTPException(403, f"Đơn số {petition_id} ngoài địa bàn phụ trách")
    return row


# People named in a history (owners, assignees) and notes typed by officers are personal data
# to roles below officer, like the other free text people type.
_PEOPLE_FIELDS = ("owner", "assignee")


def _event_for(principal: Principal, event: dict[str, Any]) -> EventPublic:
    if sees_clear_text(principal):
        return EventPublic(**event)
    changes = {field: (["…", "…"] if field in _PEOPLE_FIELDS else values)
               for field, values in (event.get("changes") or {}).items()}
    note = redact(event["note"]) if event.get("note") else None
    return EventPublic(**{**event, "changes": changes, "note": note, "user_name": "cán bộ"})


def _check_labels(topics: list[str] | None, signals: list[str] | None) -> None:
    allowed = (*default_taxonomy().codes, OTHER)
    for name, values, known in (("lĩnh vực", topics, allowed), ("dấu hiệu", signals, SIGNALS)):
        unknown = [v for v in values or () if v not in known]
        if unknown:
            raise HTTPException(422, f"{name} '{unknown[0]}' không có; chọn trong: "
                                + ", ".join(known))


def _place(area: str, gazetteer: Any, principal: Principal
           ) -> tuple[str, str | None, str | None, str | None]:
    match = resolve_place(area, "", gazetteer)
    if match.status is PlaceStatus.NOT_FOUND:
        raise HTTPException(422, f"Không xác định được địa bàn '{area}'; hãy ghi rõ thôn, xã")
    if not principal.may_store(PlaceKey.of_match(match)):
        raise HTTPException(403, f"Địa bàn '{match.area}' ngoài địa bàn phụ trách")
    return match.area, match.village, match.commune, match.province


def _today(as_of: date | None) -> date:
    return as_of or office_today()


# ---------------------------------------------------------------------- petitions
@router.get("/review/queue", response_model=ReviewQueuePublic,
            summary="Hàng đợi kiểm tra nhãn: đơn mô hình chưa chắc chắn trước")
def read_queue(
    request: Request, principal: Officer, engine: EngineDep, settings: SettingsDep,
    store: StoreDep,
    start: Annotated[IsoDay | None, Query(alias="from")] = None,
    end: Annotated[IsoDay | None, Query(alias="to")] = None,
    threshold: Annotated[float, Query(ge=0, le=1)] = 0.6,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ReviewQueuePublic:
    """Unreviewed petitions in the caller's areas: low confidence or at odds with their
    near-duplicate cluster first, then by confidence. Without `from`, the petitions received in
    the last 92 days of the data (the queue never ranks a province's whole history)."""
    if start is None:
        _, last = data_extent(store)
        start = last - timedelta(days=QUEUE_DAYS) if last is not None else None
    rows, total = review_queue(engine, places_allowed=principal.places(), start=start, end=end,
                               threshold=threshold, limit=limit, offset=offset)
    audit_records(request, (r["id"] for r in rows))
    today = office_today()
    data = [ReviewItemPublic(**petition_for(principal, enrich(r, today, settings.due_days))
                             | {"confidence": r["confidence"]}) for r in rows]
    return ReviewQueuePublic(data=data, count=total, threshold=threshold)


@router.post("/petitions/{petition_id}/review", response_model=PetitionPublic,
             summary="Kiểm tra một đơn: chấp nhận hoặc sửa lĩnh vực, dấu hiệu, địa bàn")
def review(petition_id: RecordId, body: ReviewIn, request: Request, principal: Officer,
           engine: EngineDep, gazetteer: GazetteerDep, settings: SettingsDep) -> PetitionPublic:
    """Mark the petition reviewed; with topics, signals or area, correct them (the counts of
    trends and hot spots move with the correction)."""
    _visible(principal, engine, petition_id)
    _check_labels(body.topics, body.signals)
    place = _place(body.area, gazetteer, principal) if body.area else None
    correction = Correction(
        topics=tuple(body.topics) if body.topics is not None else None,
        signals=tuple(body.signals) if body.signals is not None else None,
        place=place, note=body.note)
    try:
        review_petition(engine, petition_id, principal.name, correction)
    except CaseError as error:
        raise HTTPException(409, str(error)) from error
    audit_records(request, [petition_id])
    row = _visible(principal, engine, petition_id)
    return PetitionPublic(**petition_for(principal, enrich(row, office_today(),
                                                           settings.due_days)))


@router.get("/petitions/{petition_id}/history", response_model=list[EventPublic],
            summary="Lịch sử thay đổi của một đơn")
def read_history(petition_id: RecordId, request: Request, principal: Analyst,
                 engine: EngineDep) -> list[EventPublic]:
    """Who reviewed, corrected or changed the follow-up of this petition, and when."""
    _visible(principal, engine, petition_id)
    audit_records(request, [petition_id])
    return [_event_for(principal, e) for e in petition_history(engine, petition_id)]


@router.post("/cases/update", response_model=CaseUpdatePublic,
             summary="Cập nhật trạng thái, người phụ trách, hạn xử lý (một hay nhiều đơn)")
def update(body: CaseUpdateIn, request: Request, principal: Officer, engine: EngineDep,
           settings: SettingsDep) -> CaseUpdatePublic:
    """Change the follow-up of the listed petitions, or of every petition the filters match
    (at most 5,000 at once), within the caller's areas."""
    if (body.ids is None) == (body.filters is None):
        raise HTTPException(422, "Gửi 'ids' (số hiệu đơn) hoặc 'filters' (bộ lọc), một trong hai")
    if body.filters is not None:
        f = body.filters
        _check_labels([f.topic] if f.topic else None, [f.signal] if f.signal else None)
        filters = PetitionFilter(
            topic=f.topic, area=f.area, start=f.start, end=f.end, source_type=f.source_type,
            signal=f.signal, q=f.q, places_allowed=principal.places(), case_status=f.status,
            ids=tuple(f.ids) if f.ids is not None else None,
            overdue_on=_today(f.as_of) if f.overdue else None,
            due_days=tuple(settings.due_days.items()))
        ids = matching_ids(engine, filters, limit=MAX_BULK + 1)
        if len(ids) > MAX_BULK:
            raise HTTPException(413, f"Bộ lọc khớp hơn {MAX_BULK} đơn; hãy lọc hẹp hơn")
    else:
        ids = list(dict.fromkeys(body.ids or []))
        for petition_id in ids:
            _visible(principal, engine, petition_id)
    try:
        changed = update_cases(engine, ids, principal.name, status=body.status,
                               owner=body.owner, due_on=body.due_on, note=body.note)
    except CaseError as error:
        raise HTTPException(422, str(error)) from error
    audit_records(request, ids)
    return CaseUpdatePublic(matched=len(ids), changed=changed)


@router.get("/cases/summary", response_model=CaseSummaryPublic,
            summary="Kết quả giải quyết: theo trạng thái, đúng hạn, quá hạn")
def summary(principal: Viewer, engine: EngineDep, settings: SettingsDep,
            start: Annotated[IsoDay | None, Query(alias="from")] = None,
            end: Annotated[IsoDay | None, Query(alias="to")] = None,
            as_of: Annotated[IsoDay | None, Query(description="Ngày xét quá hạn")] = None,
            ) -> CaseSummaryPublic:
    """Counts for the caller's areas: cases by status, answered on time or late, overdue."""
    today = _today(as_of)
    counts = case_counts(engine, today=today, start=start, end=end,
                         places_allowed=principal.places(), due_days=settings.due_days)
    return CaseSummaryPublic(start=start, end=end, as_of=today, **counts)


def month_agreement(engine: Any, month_start: date, places_allowed: Any = None
                    ) -> tuple[int, int]:
    """Return (reviewed, agreed) for petitions the model labelled and a person reviewed in the
    month of `month_start` (labelled history, with no model scores, is left out)."""
    next_month = (month_start.replace(day=28) + timedelta(days=4)).replace(day=1)
    rows = [r for r in reviewed_petitions(engine, start=month_start,
                                          end=next_month - timedelta(days=1),
                                          places_allowed=places_allowed) if r["scores"]]
    agreed = sum(1 for r in rows if r["model_topics"] is None
                 or sorted(r["model_topics"]) == sorted(r["topics"]))
    return len(rows), agreed


@router.get("/review/agreement", response_model=AgreementPublic,
            summary="Mức khớp của mô hình với các đơn đã kiểm tra trong tháng")
def agreement(principal: Analyst, engine: EngineDep, settings: SettingsDep,
              month: Annotated[str | None, Query(
                  pattern=r"^(19|20)\d{2}-(0[1-9]|1[0-2])$", description="YYYY-MM")] = None,
              ) -> AgreementPublic:
    """Share of this month's reviewed petitions whose topics the reviewer kept, against last
    month; a warning when it falls under the configured level or drops by 10 points."""
    start = date.fromisoformat(f"{month}-01") if month else office_today().replace(day=1)
    previous = (start - timedelta(days=1)).replace(day=1)
    reviewed, agreed = month_agreement(engine, start, principal.places())
    before, before_agreed = month_agreement(engine, previous, principal.places())
    share = agreed / reviewed if reviewed else None
    share_before = before_agreed / before if before else None
    warning = None
    if share is not None and share < settings.agreement_warning:
        warning = (f"Mô hình chỉ khớp {share:.0%} với các đơn đã kiểm tra trong tháng "
                   f"(ngưỡng {settings.agreement_warning:.0%}); nên huấn luyện lại với các "
                   "đơn đã sửa (tamtu train --with-corrections)")
    elif share is not None and share_before is not None and share < share_before - 0.1:
        warning = (f"Mức khớp giảm từ {share_before:.0%} xuống {share:.0%} so với tháng trước; "
                   "nên xem lại các đơn đã sửa")
    return AgreementPublic(month=start.strftime("%Y-%m"), reviewed=reviewed, agreed=agreed,
                           agreement=share, previous_month=previous.strftime("%Y-%m"),
                           previous_agreement=share_before, warning=warning)


# ---------------------------------------------------------------------- alerts as cases
def _alert_public(principal: Principal, row: dict[str, Any]) -> AlertPublic:
    return AlertPublic(**{**row, "explanation": public_text(principal, row["explanation"])})


def _visible_alert(principal: Principal, engine: Any, alert_id: int) -> dict[str, Any]:
    row = AlertStore(engine).get_alert(alert_id)
    if row is None:
        raise HTTPException(404, f"Không tìm thấy cảnh báo số {alert_id}")
    if not principal.may_see_area(row["area"]):
        raise HTTPException(403, f"Cảnh báo số {alert_id} ngoài địa bàn phụ trách")
    return row


def _alert_change(principal: Principal, engine: Any, alert_id: int,
                  change: Callable[[], dict[str, Any]]) -> AlertPublic:
    """Apply a change to an alert the caller may see; a refused change is a 409."""
    _visible_alert(principal, engine, alert_id)
    try:
        return _alert_public(principal, change())
    except CaseError as error:
        raise HTTPException(409, str(error)) from error


@router.get("/alerts/{alert_id}", response_model=AlertPublic, summary="Một cảnh báo")
def read_alert(alert_id: RecordId, principal: Viewer, engine: EngineDep) -> AlertPublic:
    """Return one alert (its page in the dashboard links here)."""
    return _alert_public(principal, _visible_alert(principal, engine, alert_id))


@router.get("/alerts/{alert_id}/history", response_model=list[EventPublic],
            summary="Lịch sử xử lý một cảnh báo")
def read_alert_history(alert_id: RecordId, principal: Viewer, engine: EngineDep
                       ) -> list[EventPublic]:
    """Who acknowledged, assigned, noted, resolved or reopened this alert, and when."""
    _visible_alert(principal, engine, alert_id)
    return [_event_for(principal, e) for e in alert_history(engine, alert_id)]


@router.post("/alerts/{alert_id}/assign", response_model=AlertPublic,
             summary="Giao cảnh báo cho một người")
def assign(alert_id: RecordId, body: AlertCaseIn, principal: Officer, engine: EngineDep
           ) -> AlertPublic:
    """Give the alert to someone (an empty assignee takes it back)."""
    return _alert_change(principal, engine, alert_id, lambda: assign_alert(
        engine, alert_id, principal.name, body.assignee, body.note))


@router.post("/alerts/{alert_id}/note", response_model=AlertPublic,
             summary="Ghi chú vào cảnh báo")
def note(alert_id: RecordId, body: AlertCaseIn, principal: Officer, engine: EngineDep
         ) -> AlertPublic:
    """Add a note to the alert's history."""
    row = _visible_alert(principal, engine, alert_id)
    if not body.note or not body.note.strip():
        raise HTTPException(422, "Ghi chú trống")
    alert_event(engine, alert_id, principal.name, "note", note=body.note.strip())
    return _alert_public(principal, row)


@router.post("/alerts/{alert_id}/reopen", response_model=AlertPublic,
             summary="Mở lại cảnh báo đã xác nhận hoặc đã giải quyết")
def reopen(alert_id: RecordId, body: AlertCaseIn, principal: Officer, engine: EngineDep
           ) -> AlertPublic:
    """Undo an acknowledgement or a resolution."""
    return _alert_change(principal, engine, alert_id, lambda: reopen_alert(
        engine, alert_id, principal.name, body.note))
