"""Trends, hot spots and emerging issues: counts and explanations, replayable by date."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from api.deps import MonitorDep, SignalFilter, SourceTypeFilter, StoreDep, TopicFilter
from api.schemas import IsoDay
from api.security import Principal, Viewer, check_area, public_text
from api.xlsx import heat_sheets, trend_sheets, workbook_bytes, xlsx_response
from pipeline.monitor.common import HotspotError, area_matches
from pipeline.monitor.engine import as_json, default_as_of
from pipeline.monitor.trends import TrendsError
from pipeline.taxonomy import default_taxonomy

router = APIRouter(tags=["monitoring"])


AREA_HELP = "Một phần tên địa bàn; không phân biệt chữ hoa, có dấu hay không dấu"
TRENDS_PAGE = 2000
TRENDS_PAGE_MAX = 50_000


@router.get("/trends", summary="Số đơn theo kỳ × địa bàn × lĩnh vực (theo trang)")
def trends(
    monitor: MonitorDep,
    principal: Viewer,
    period: Literal["day", "week", "month"] = "month",
    level: Literal["village", "commune", "province", "all"] = "all",
    topic: TopicFilter = None,
    area: Annotated[str | None, Query(max_length=200)] = None,
    source_type: SourceTypeFilter = None,
    signal: SignalFilter = None,
    start: Annotated[IsoDay | None, Query(alias="from")] = None,
    end: Annotated[IsoDay | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=TRENDS_PAGE_MAX,
                                description="Số dòng tối đa của trang")] = TRENDS_PAGE,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Bỏ qua bao nhiêu dòng")] = 0,
    format: Annotated[Literal["json", "xlsx"], Query(  # noqa: A002
        description="xlsx: cả kết quả thành tệp Excel")] = "json",
    layout: Annotated[Literal["periods", "heat"], Query(
        description="Tệp Excel: theo kỳ (như biểu đồ) hoặc bản đồ nhiệt của kỳ cuối")] = "periods",
) -> Any:
    """Return one page of rows (period_start, area, topic, source_type, count, changes).

    `total` is the number of rows of the whole result; ask again with `offset` for the rest.
    With `format=xlsx` the whole result comes as an Excel file laid out as `layout` says.
    """
    check_area(principal, area)
    scope = None if principal.areas is None else tuple(sorted(principal.areas))
    try:
        table = monitor.trends(
            period=period, level=level, topic=topic, area=area, source_type=source_type,
            signal=signal, start=start, end=end, scope=scope,
            may_see_area=None if scope is None else principal.may_see_area,
        )
    except TrendsError as error:
        raise HTTPException(422, str(error)) from error
    if format == "xlsx":
        return _trends_xlsx(table, period, layout, area, end)
    page = table.iloc[offset:offset + limit]
    rows = page.astype(object).where(page.notna(), None).to_dict(orient="records")
    for row in rows:
        row["period_start"] = row["period_start"].isoformat()
    return {"columns": list(table.columns), "data": rows, "count": len(rows),
            "total": len(table), "offset": offset, "limit": limit,
            "undated": int(table.attrs.get("undated", 0))}


def _trends_xlsx(table: Any, period: str, layout: str, area: str | None, end: date | None
                 ) -> Response:
    taxonomy = default_taxonomy()
    if table.empty:
        raise HTTPException(404, "Không có số liệu nào khớp bộ lọc để xuất")
    if layout == "periods":
        return xlsx_response(workbook_bytes(trend_sheets(table, taxonomy, period)),
                             f"tamtu-xu-huong-{period}.xlsx")
    latest = table["period_start"].max()
    label = (f"Kỳ bắt đầu {latest:%d/%m/%Y}" + (f", đến ngày {end:%d/%m/%Y}" if end else "")
             + (f", địa bàn {area}" if area else ""))
    return xlsx_response(workbook_bytes(heat_sheets(table, taxonomy, period, label)),
                         f"tamtu-ban-do-nhiet-{latest:%Y-%m-%d}.xlsx")


@router.get("/hotspots", summary="Điểm nóng tại một ngày (mặc định: dữ liệu mới nhất)")
def hotspots(
    store: StoreDep,
    monitor: MonitorDep,
    principal: Viewer,
    as_of: Annotated[IsoDay | None, Query(description="Ngày xét, YYYY-MM-DD")] = None,
    window_days: Annotated[int, Query(ge=1, le=90)] = 7,
    area: Annotated[str | None, Query(max_length=200, description=AREA_HELP)] = None,
) -> dict[str, Any]:
    """Return hot spots, most severe first, each with its explanation and petition ids."""
    return _detected(store, principal, as_of, window_days, monitor.hotspots, area)


@router.get("/hotspots/limits",
            summary="Ngưỡng của từng địa bàn × lĩnh vực: đợt tăng nhỏ nhất nhận ra được")
def hotspot_limits(
    store: StoreDep,
    monitor: MonitorDep,
    principal: Viewer,
    as_of: Annotated[IsoDay | None, Query(description="Ngày xét, YYYY-MM-DD")] = None,
    level: Literal["village", "commune"] = "village",
) -> dict[str, Any]:
    """Return per area × topic the usual week, the count that is a hot spot on its own and
    the smallest spike the counts can show there at the current false-alarm budget."""
    day = as_of or default_as_of(store)
    try:
        table = monitor.limits(day)
    except HotspotError as error:
        raise HTTPException(422, str(error)) from error
    rows = [row for row in table[table["level"] == level].to_dict(orient="records")
            if principal.may_see_area(row["area"])]
    return {"as_of": day.isoformat(), "data": rows, "count": len(rows)}


@router.get("/emerging", summary="Vấn đề mới nổi: chiến dịch đơn giống nhau, cụm từ bùng phát")
def emerging(
    store: StoreDep,
    monitor: MonitorDep,
    principal: Viewer,
    as_of: Annotated[IsoDay | None, Query(description="Ngày xét, YYYY-MM-DD")] = None,
    window_days: Annotated[int, Query(ge=1, le=90)] = 7,
    area: Annotated[str | None, Query(max_length=200, description=AREA_HELP)] = None,
) -> dict[str, Any]:
    """Return emerging issues with explanation, evidence terms and petition ids."""
    return _detected(store, principal, as_of, window_days, monitor.emerging, area)


def _detected(store: Any, principal: Principal, as_of: date | None, window_days: int,
              detect: Any, area: str | None) -> dict[str, Any]:
    day = as_of or default_as_of(store)
    try:
        items = detect(day, window_days=window_days)
    except HotspotError as error:
        raise HTTPException(422, str(error)) from error
    if area and area.strip():
        items = [item for item in items if area_matches(item.area, area)]
    data = _visible(principal, items)
    return {"as_of": day.isoformat(), "data": data, "count": len(data)}


def _visible(principal: Principal, items: list[Any]) -> list[dict[str, Any]]:
    """Keep items inside the caller's areas; remove personal data from their wording."""
    visible = []
    for item in items:
        if not principal.may_see_area(item.area):
            continue
        data = as_json(item)
        for key in ("explanation", "label"):
            if key in data:
                data[key] = public_text(principal, data[key])
        if "terms" in data:
            data["terms"] = [public_text(principal, t) for t in data["terms"]]
        visible.append(data)
    return visible
