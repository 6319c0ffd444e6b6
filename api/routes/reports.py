"""The monthly report (DOCX) for the dashboard and API clients."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Response

from api.deps import StoreDep
from api.report import (
    EmptyMonthError,
    FutureMonthError,
    ReportError,
    UnknownAreaError,
    build_monthly_report,
)
from api.security import Viewer, check_area

router = APIRouter(prefix="/reports", tags=["reports"])

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@router.get("/monthly", summary="Báo cáo tháng (DOCX)", response_class=Response,
            responses={200: {"content": {DOCX_TYPE: {}}}})
def monthly_report(
    store: StoreDep,
    principal: Viewer,
    month: Annotated[str, Query(pattern=r"^(1[89]|2\d)\d{2}-(0[1-9]|1[0-2])$",
                                description="Tháng, YYYY-MM")],
    area: Annotated[str | None, Query(max_length=200, description="Địa bàn (tùy chọn)")] = None,
) -> Response:
    """Return the monthly report as a DOCX file (personal data redacted)."""
    area = area.strip() if area and area.strip() else None
    if area is None and principal.areas is not None:
        # A user scoped to some areas never gets a report over the whole database.
        if len(principal.areas) != 1:
            raise HTTPException(403, "Hãy chọn một địa bàn trong phạm vi được giao")
        area = principal.areas[0]
    check_area(principal, area)
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
    filename = f"bao-cao-thang-{month}.docx"
    return Response(body, media_type=DOCX_TYPE, headers={
        "Content-Disposition": f"attachment; filename=\"{filename}\"; "
                               f"filename*=UTF-8''{quote(filename)}",
    })
