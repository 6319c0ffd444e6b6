"""Petitions: store one or a batch, list with filters, export as CSV, read one."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from uuid import uuid4

from fastapi import APIRouter, BackgroundTasks, Body, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import Field

from api.deps import (
    ClassifierDep,
    EngineDep,
    GazetteerDep,
    RecordId,
    SettingsDep,
    SignalFilter,
    SourceTypeFilter,
    StoreDep,
    TopicFilter,
)
from api.schemas import (
    IngestResultPublic,
    IsoDay,
    PetitionCreate,
    PetitionPublic,
    PetitionsPublic,
    QuarantinePublic,
)
from api.security import (
    Analyst,
    Officer,
    Principal,
    audit_records,
    check_area,
    petition_for,
    sees_clear_text,
)
from api.xlsx import SOURCE_NAMES, XLSX_TYPE, Sheet, workbook_bytes, xlsx_response
from pipeline.intake.readers import Ingestor
from pipeline.process import record_place
from pipeline.records import SOURCE_TYPES, QuarantineRow, Record
from pipeline.run import IngestRun
from pipeline.store import PetitionFilter, SecurityStore, get_petition, list_petitions
from pipeline.store.cases import CASE_STATUSES, enrich, office_today
from pipeline.taxonomy import OTHER, default_taxonomy
from pipeline.text.redact import redact_metadata
from pipeline.text.scopes import PlaceKey
from pipeline.text.signals import SIGNALS

router = APIRouter(prefix="/petitions", tags=["petitions"])
logger = logging.getLogger("tamtu.api")

MAX_BATCH = 5000
MAX_PAGE = 200
MAX_IDS = 1000
CSV_FIELDS = (
    "id", "received_at", "area", "village", "commune", "province", "source_type", "topics",
    "signals", "text", "area_raw", "external_id", "sender_name", "sender_contact", "channel",
    "is_response", "no_diacritics", "source_file", "source_row", "created_at", "extra_columns",
)


@router.post("", response_model=IngestResultPublic, status_code=201,
             summary="Lưu một đơn hoặc một lô đơn")
def create_petitions(
    body: Annotated[PetitionCreate | Annotated[list[PetitionCreate], Field(min_length=1)],
                    Body()],
    store: StoreDep,
    settings: SettingsDep,
    classifier: ClassifierDep,
    gazetteer: GazetteerDep,
    principal: Officer,
    background: BackgroundTasks,
) -> IngestResultPublic:
    """Store petitions with the same validation, de-duplication and quarantine as file ingest."""
    items = body if isinstance(body, list) else [body]
    if not items:
        raise HTTPException(422, "Lô đơn trống")
    if len(items) > MAX_BATCH:
        raise HTTPException(413, f"Mỗi lần gửi tối đa {MAX_BATCH} đơn")
    source = f"api:{uuid4().hex}"
    ingestor = Ingestor()
    records: list[Record | QuarantineRow] = [
        ingestor.make_record(Path(source), index, item.model_dump(), item.model_dump())
        for index, item in enumerate(items)
    ]
    _check_places(principal, records, gazetteer)
    runner = IngestRun(store, classifier=classifier, runs_dir=settings.runs_dir,
                       gazetteer=gazetteer)
    report = runner.ingest_items(records, label=[source])
    if report.stored:
        # Alerts are evaluated after every ingest, after the response has been sent.
        background.add_task(_alerts_after_ingest, settings, store, report.days)
    quarantined = [
        QuarantinePublic(index=r.source_row, reason=r.reason)
        for r in records if isinstance(r, QuarantineRow)
    ]
    return IngestResultPublic(
        read=report.read, stored=report.stored, near_duplicates=report.near_duplicates,
        duplicates=report.duplicates,
        quarantined=report.quarantined, by_topic=report.by_topic, quarantine=quarantined,
    )


def _check_places(principal: Principal, records: list[Record | QuarantineRow],
                  gazetteer: Any) -> None:
    """Refuse the batch (403) when a petition would be stored outside the caller's scope.

    The check is on the place the pipeline resolves (the area field, else the text), after
    resolution, so an area left out or written loosely cannot place a petition elsewhere.
    """
    if principal.scope is None:
        return
    problems: list[str] = []
    for record in records:
        if not isinstance(record, Record):
            continue
        place = PlaceKey.of_match(record_place(record, gazetteer))
        if place.empty:
            problems.append(f"đơn {record.source_row}: chưa xác định được địa bàn, hãy ghi rõ "
                            "thôn, xã trong trường 'area'")
        elif not principal.may_store(place):
            problems.append(f"đơn {record.source_row}: địa bàn xác định được là "
                            f"'{place.describe()}'")
    if problems:
        raise HTTPException(
            403, "Có đơn ngoài địa bàn phụ trách (" + principal.scope.describe() + "): "
            + "; ".join(problems[:10]) + ("; …" if len(problems) > 10 else ""))


def _alerts_after_ingest(settings: Any, store: Any, days: list[str]) -> None:
    from pipeline.monitor.engine import run_alerts

    try:
        run_alerts(settings, store, days=[date.fromisoformat(d) for d in days])
    except Exception as error:  # noqa: BLE001 - stored petitions stay; the next run retries
        logger.warning("alert evaluation after ingest failed: %s", type(error).__name__)


_DIGIT_RUN_RE = re.compile(r"\d(?:[ .\-]?\d){5,}")


def _names_personal_data(query: str) -> bool:
    """Return True when a search names personal data (a long number or a found span)."""
    return _DIGIT_RUN_RE.search(query) is not None or redact_metadata(query) != query


def _filters(
    principal: Principal, topic: str | None, area: str | None, start: date | None,
    end: date | None, source_type: str | None, signal: str | None, q: str | None,
    ids: str | None = None, status: str | None = None, overdue_on: date | None = None,
    due_days: dict[str, int] | None = None,
) -> PetitionFilter:
    if start and end and start > end:
        raise HTTPException(422, "Ngày 'from' phải trước ngày 'to'")
    topics = (*default_taxonomy().codes, OTHER)
    for name, value, allowed in (("topic", topic, topics), ("source_type", source_type,
                                 SOURCE_TYPES), ("signal", signal, SIGNALS)):
        if value is not None and value not in allowed:
            raise HTTPException(422, f"{name} '{value}' không có; chọn một trong: "
                                + ", ".join(allowed))
    check_area(principal, area)
    if q and not sees_clear_text(principal) and _names_personal_data(q):
        # The count of matches would tell whether a given phone or name is in some petition.
        raise HTTPException(403, "Tìm theo số điện thoại, số giấy tờ, địa chỉ nhà hay họ tên "
                            "chỉ dành cho cán bộ phụ trách")
    id_list = tuple(int(x) for x in ids.split(",")) if ids else None
    if id_list is not None and len(id_list) > MAX_IDS:
        raise HTTPException(422, f"Tối đa {MAX_IDS} số hiệu đơn mỗi lần")
    return PetitionFilter(topic=topic, area=area, start=start, end=end,
                          source_type=source_type, signal=signal, q=q,
                          places_allowed=principal.places(), ids=id_list, case_status=status,
                          overdue_on=overdue_on, due_days=tuple((due_days or {}).items()))


@router.get("", response_model=PetitionsPublic, summary="Danh sách đơn, lọc và phân trang",
            responses={200: {"content": {"text/csv": {}, XLSX_TYPE: {}}}})
def read_petitions(
    request: Request,
    principal: Analyst,
    engine: EngineDep,
    settings: SettingsDep,
    topic: TopicFilter = None,
    area: Annotated[str | None, Query(max_length=200)] = None,
    start: Annotated[IsoDay | None, Query(alias="from")] = None,
    end: Annotated[IsoDay | None, Query(alias="to")] = None,
    source_type: SourceTypeFilter = None,
    signal: SignalFilter = None,
    q: Annotated[str | None, Query(max_length=200, description="Tìm trong nội dung")] = None,
    ids: Annotated[str | None, Query(max_length=12_000, pattern=r"^\d{1,10}(,\d{1,10})*$",
                                     description="Số hiệu đơn, ngăn bằng dấu phẩy")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json",  # noqa: A002
    sort: Annotated[Literal["newest", "oldest", "area", "number"], Query(
        description="Thứ tự: mới nhận trước, cũ trước, theo địa bàn, theo số hiệu")] = "newest",
    status: Annotated[Literal[CASE_STATUSES] | None, Query(  # type: ignore[valid-type]
        description="Trạng thái xử lý")] = None,
    overdue: Annotated[Literal["true", "false"], Query(
        description="true: chỉ đơn còn mở đã quá hạn xử lý")] = "false",
    as_of: Annotated[IsoDay | None, Query(
        description="Ngày xét quá hạn (mặc định: hôm nay)")] = None,
) -> Any:
    """Return a page of petitions, or every matching one as CSV or XLSX, in the chosen order.

    A search word typed without diacritics matches every accented spelling of it.
    """
    today = as_of or office_today()
    filters = _filters(principal, topic, area, start, end, source_type, signal, q, ids,
                       status, today if overdue == "true" else None, settings.due_days)
    if format == "xlsx":
        return _xlsx(engine, filters, principal, request, sort)
    if format == "csv":
        return StreamingResponse(
            _csv_rows(engine, filters, principal, request, sort),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="tamtu-don-thu.csv"'},
        )
    rows, total = list_petitions(engine, filters, limit=limit, offset=offset, order=sort)
    audit_records(request, (r["id"] for r in rows))
    return PetitionsPublic(
        data=[PetitionPublic(**petition_for(principal, enrich(r, today, settings.due_days)))
              for r in rows],
        count=total, limit=limit, offset=offset)


def _pages(engine: Any, filters: PetitionFilter, principal: Principal, sort: str,
           exported: list[int]) -> Iterator[list[dict[str, Any]]]:
    """Yield every matching petition, as the user may see it, 1,000 at a time."""
    offset = 0
    while True:
        rows, _ = list_petitions(engine, filters, limit=1000, offset=offset, order=sort)
        exported.extend(r["id"] for r in rows)
        yield [petition_for(principal, r) for r in rows]
        if len(rows) < 1000:
            return
        offset += 1000


def _audit_export(engine: Any, principal: Principal, request: Request, exported: list[int]
                  ) -> None:
    client = request.client.host if request.client else None
    SecurityStore(engine).append_audit({
        "user_name": principal.name, "role": principal.role, "method": "EXPORT",
        "endpoint": request.url.path, "status": 200, "record_ids": exported, "client": client,
    })


def _csv_rows(engine: Any, filters: PetitionFilter, principal: Principal, request: Request,
             sort: str = "newest") -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # so that spreadsheet programs read the Vietnamese text as UTF-8
    writer.writerow(CSV_FIELDS)
    # The request's own audit entry is written before the body streams, so the export appends
    # a second entry with every exported id once it is complete.
    exported: list[int] = []
    for page in _pages(engine, filters, principal, sort, exported):
        for row in page:
            writer.writerow([
                _csv_cell(f, row[f]) for f in CSV_FIELDS
            ])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    _audit_export(engine, principal, request, exported)


def _xlsx(engine: Any, filters: PetitionFilter, principal: Principal, request: Request,
          sort: str) -> Response:
    taxonomy = default_taxonomy()
    exported: list[int] = []

    def cells(row: dict[str, Any]) -> list[Any]:
        values = {**row, "topics": "; ".join(taxonomy.name(t) for t in row["topics"]),
                  "signals": "; ".join(taxonomy.name(t) for t in row["signals"]),
                  "source_type": SOURCE_NAMES.get(row["source_type"], row["source_type"])}
        return [values[f] for f in XLSX_FIELDS]

    rows = (cells(r) for page in _pages(engine, filters, principal, sort, exported) for r in page)
    data = workbook_bytes([Sheet("Đơn thư", list(XLSX_FIELDS.values()), rows,
                                 {2: 36, 5: 24, 6: 60, 7: 24})])
    _audit_export(engine, principal, request, exported)
    return xlsx_response(data, "tamtu-don-thu.xlsx")


XLSX_FIELDS = {
    "id": "Số", "received_at": "Ngày nhận", "area": "Địa bàn", "source_type": "Loại nguồn",
    "external_id": "Số hiệu gốc", "topics": "Lĩnh vực", "text": "Nội dung",
    "signals": "Dấu hiệu", "sender_name": "Người gửi", "sender_contact": "Liên hệ",
    "channel": "Kênh", "source_file": "Tệp nguồn", "source_row": "Dòng",
}


def _csv_cell(name: str, value: Any) -> Any:
    if name in ("topics", "signals"):
        return "|".join(value)
    if name == "extra_columns":
        return json.dumps(value, ensure_ascii=False) if value else ""
    return value


@router.get("/{petition_id}", response_model=PetitionPublic, summary="Một đơn")
def read_petition(petition_id: RecordId, request: Request, principal: Analyst, engine: EngineDep,
                  settings: SettingsDep) -> PetitionPublic:
    """Return one petition by id."""
    row = get_petition(engine, petition_id)
    if row is None:
        raise HTTPException(404, f"Không có đơn số {petition_id}")
    if not principal.may_see_row(row):
        raise HTTPException(403, f"Không được xem đơn số {petition_id} (ngoài địa bàn phụ trách)")
    # The other copies are listed only where this user may see petitions.
    row["near_duplicates"] = [m for m in row["near_duplicates"]
                              if principal.may_see_area(m["area"])]
    audit_records(request, [petition_id])
    return PetitionPublic(**petition_for(principal, enrich(row, office_today(),
                                                           settings.due_days)))
