"""Trends, hot spots and emerging issues: counts and explanations, replayable by date."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query

from api.deps import StoreDep
from api.security import Principal, Viewer, check_area, public_text
from pipeline.monitor.common import HotspotError
from pipeline.monitor.engine import as_json, default_as_of, emerging_on, hotspots_on, load_frame
from pipeline.monitor.trends import TrendsError, topic_trends

router = APIRouter(tags=["monitoring"])


@router.get("/trends", summary="Số đơn theo kỳ × địa bàn × lĩnh vực")
def trends(
    store: StoreDep,
    principal: Viewer,
    period: Literal["day", "week", "month"] = "month",
    level: Literal["village", "commune", "province", "all"] = "all",
    topic: Annotated[str | None, Query(max_length=40)] = None,
    area: Annotated[str | None, Query(max_length=200)] = None,
    source_type: Annotated[str | None, Query(max_length=40)] = None,
    signal: Annotated[str | None, Query(max_length=20)] = None,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    """Return rows with period_start, area, topic, source_type, count and changes."""
    check_area(principal, area)
    frame = load_frame(store, start=start, end=end)
    if principal.areas is not None:
        frame = frame[frame["area"].map(principal.may_see_area).astype(bool)]
    try:
        table = topic_trends(frame, period=period, level=level, topic=topic, area=area,
                             source_type=source_type, signal=signal)
    except TrendsError as error:
        raise HTTPException(422, str(error)) from error
    rows = table.astype(object).where(table.notna(), None).to_dict(orient="records")
    for row in rows:
        row["period_start"] = row["period_start"].isoformat()
    return {"columns": list(table.columns), "data": rows, "count": len(rows)}


@router.get("/hotspots", summary="Điểm nóng tại một ngày (mặc định: dữ liệu mới nhất)")
def hotspots(
    store: StoreDep,
    principal: Viewer,
    as_of: Annotated[date | None, Query(description="Ngày xét, YYYY-MM-DD")] = None,
    window_days: Annotated[int, Query(ge=1, le=90)] = 7,
) -> dict[str, Any]:
    """Return hot spots, most severe first, each with its explanation and petition ids."""
    return _detected(store, principal, as_of, window_days, hotspots_on)


@router.get("/emerging", summary="Vấn đề mới nổi: chiến dịch đơn giống nhau, cụm từ bùng phát")
def emerging(
    store: StoreDep,
    principal: Viewer,
    as_of: Annotated[date | None, Query(description="Ngày xét, YYYY-MM-DD")] = None,
    window_days: Annotated[int, Query(ge=1, le=90)] = 7,
) -> dict[str, Any]:
    """Return emerging issues with explanation, evidence terms and petition ids."""
    return _detected(store, principal, as_of, window_days, emerging_on)


def _detected(store: Any, principal: Principal, as_of: date | None, window_days: int,
              detect: Any) -> dict[str, Any]:
    day = as_of or default_as_of(store)
    try:
        items = detect(store, day, window_days=window_days)
    except HotspotError as error:
        raise HTTPException(422, str(error)) from error
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
