"""The monthly report (DOCX) for the dashboard and API clients."""

from __future__ import annotations

import base64
import json
import logging
import queue
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Response
from fastapi.responses import StreamingResponse

from api.deps import StoreDep
from api.report import (
    EmptyMonthError,
    FutureMonthError,
    ReportError,
    UnknownAreaError,
    build_monthly_report,
)
from api.security import Principal, Viewer, check_area
from pipeline.store import PetitionStore

router = APIRouter(prefix="/reports", tags=["reports"])

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


MonthQuery = Annotated[str, Query(pattern=r"^(1[89]|2\d)\d{2}-(0[1-9]|1[0-2])$",
                                   description="Tháng, YYYY-MM")]
AreaQuery = Annotated[str | None, Query(max_length=200, description="Địa bàn (tùy chọn)")]
NDJSON = "application/x-ndjson"
_log = logging.getLogger("tamtu.api")


def _report_area(principal: Principal, area: str | None) -> str | None:
    """Return the area of the report a caller may ask for (403 outside the caller's areas)."""
    area = area.strip() if area and area.strip() else None
    if area is None and principal.areas is not None:
        # A user scoped to some areas never gets a report over the whole database.
        if len(principal.areas) != 1:
            raise HTTPException(403, "Hãy chọn một địa bàn trong phạm vi được giao")
        area = principal.areas[0]
    check_area(principal, area)
    return area


def _filename(month: str) -> str:
    return f"bao-cao-thang-{month}.docx"


@router.get("/monthly", summary="Báo cáo tháng (DOCX)", response_class=Response,
            responses={200: {"content": {DOCX_TYPE: {}}}})
def monthly_report(
    store: StoreDep, principal: Viewer, month: MonthQuery, area: AreaQuery = None,
) -> Response:
    """Return the monthly report as a DOCX file (personal data redacted)."""
    area = _report_area(principal, area)
    with tempfile.TemporaryDirectory(prefix="tamtu-report-") as folder:
        out = Path(folder) / "report.docx"
        try:
            build_monthly_report(store, month, area=area, out=out)
        except (EmptyMonthError, FutureMonthError, UnknownAreaError) as error:
            # A well-formed request with nothing to report: there is no such report.
            raise HTTPException(404, str(error)) from error
        except ReportError as error:
            raise HTTPException(422, str(error)) from error
        body = out.read_bytes()
    filename = _filename(month)
    return Response(body, media_type=DOCX_TYPE, headers={
        "Content-Disposition": f"attachment; filename=\"{filename}\"; "
                               f"filename*=UTF-8''{quote(filename)}",
    })


@router.get("/monthly/progress", summary="Báo cáo tháng, kèm tiến độ (NDJSON)",
            response_class=StreamingResponse, responses={200: {"content": {NDJSON: {}}}})
def monthly_report_progress(
    store: StoreDep, principal: Viewer, month: MonthQuery, area: AreaQuery = None,
) -> StreamingResponse:
    """Return the monthly report as JSON lines while it is written, for a progress bar.

    Each line is one object: {"step", "done", "total"} for each step (one per day of the month
    while its hot spots are evaluated), then {"filename", "docx"} (the DOCX, base64) or
    {"error"} with the reason in plain words.
    """
    area = _report_area(principal, area)
    return StreamingResponse(_report_lines(store, month, area), media_type=NDJSON,
                             headers={"Cache-Control": "no-store"})


def _report_lines(store: PetitionStore, month: str, area: str | None) -> Iterator[bytes]:
    lines: queue.Queue[dict[str, Any] | None] = queue.Queue()

    def write() -> None:
        with tempfile.TemporaryDirectory(prefix="tamtu-report-") as folder:
            out = Path(folder) / "report.docx"
            try:
                build_monthly_report(store, month, area=area, out=out, progress=lambda step, done,
                                     total: lines.put({"step": step, "done": done,
                                                       "total": total}))
                lines.put({"filename": _filename(month),
                           "docx": base64.b64encode(out.read_bytes()).decode("ascii")})
            except ReportError as error:
                lines.put({"error": str(error)})
            except Exception as error:  # noqa: BLE001 - the reader must hear that it failed
                # The error's message may quote stored values: only its kind is logged.
                _log.error("monthly report %s failed: %s", month, type(error).__name__)
                lines.put({"error": "Lỗi máy chủ khi lập báo cáo; xin thử lại sau"})
            finally:
                lines.put(None)

    threading.Thread(target=write, name=f"report-{month}", daemon=True).start()
    while (line := lines.get()) is not None:
        yield (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")
