"""Excel (XLSX) exports of the petition list, the trends and the heat table, with openpyxl."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.taxonomy import Taxonomy

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SOURCE_NAMES = {"petition": "Kiến nghị", "complaint": "Khiếu nại", "denunciation": "Tố cáo",
                "feedback": "Phản ánh"}
TREND_HEADERS = {
    "period_start": "Đầu kỳ", "area": "Địa bàn", "topic": "Lĩnh vực",
    "source_type": "Loại nguồn", "count": "Số đơn", "previous_count": "Kỳ trước",
    "change_vs_previous": "So với kỳ trước (lần)", "last_year_count": "Cùng kỳ năm trước",
    "change_vs_last_year": "So với cùng kỳ năm trước (lần)",
}


@dataclass(frozen=True)
class Sheet:
    """One worksheet: title, column headings, rows and the width of wide columns."""

    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Any]]
    widths: dict[int, float] | None = None
    note: str | None = None


def _cell(sheet: Worksheet, value: Any, bold: bool = False, wrap: bool = False) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    if bold:
        cell.font = Font(bold=True)
    if wrap:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    return cell


def workbook_bytes(sheets: Sequence[Sheet]) -> bytes:
    """Return an XLSX file: bold frozen headings and a filter on every sheet."""
    book = Workbook(write_only=True)
    for spec in sheets:
        sheet = book.create_sheet(spec.title[:31])
        for index, width in (spec.widths or {}).items():
            sheet.column_dimensions[chr(ord("A") + index)].width = width
        first = 1
        if spec.note:
            sheet.append([_cell(sheet, spec.note)])
            first = 2
        sheet.freeze_panes = f"A{first + 1}"
        sheet.append([_cell(sheet, h, bold=True, wrap=True) for h in spec.headers])
        count = 0
        for row in spec.rows:
            sheet.append(list(row))
            count += 1
        last = chr(ord("A") + max(0, len(spec.headers) - 1))
        sheet.auto_filter.ref = f"A{first}:{last}{first + count}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_response(data: bytes, filename: str) -> Response:
    """Return the file as a download."""
    return Response(data, media_type=XLSX_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _plain(value: Any) -> Any:
    return None if value is None or value is pd.NA or (
        isinstance(value, float) and pd.isna(value)) else value


def trend_sheets(table: pd.DataFrame, taxonomy: Taxonomy, period: str) -> list[Sheet]:
    """Return the counts per period and topic (as the chart draws them) and every row."""
    period_name = {"day": "Ngày", "week": "Tuần bắt đầu", "month": "Tháng bắt đầu"}[period]
    by_period = table.pivot_table(index="period_start", columns="topic", values="count",
                                  aggfunc="sum", fill_value=0, observed=True)
    topics = [t for t in (*taxonomy.codes, taxonomy.other.code) if t in by_period.columns]
    pivot_rows = ([day, *(int(by_period.at[day, t]) for t in topics)]
                  for day in by_period.index)
    detail_rows = ([_plain(row[c]) if c not in ("topic", "source_type") else (
        taxonomy.name(row[c]) if c == "topic" else SOURCE_NAMES.get(row[c], row[c]))
        for c in TREND_HEADERS] for row in table.astype(object).to_dict(orient="records"))
    return [
        Sheet("Theo kỳ", [period_name, *(taxonomy.name(t) for t in topics)], pivot_rows,
              {0: 14}),
        Sheet("Chi tiết", list(TREND_HEADERS.values()), detail_rows, {1: 40, 2: 26}),
    ]


def heat_sheets(table: pd.DataFrame, taxonomy: Taxonomy, period: str, label: str) -> list[Sheet]:
    """Return area × topic counts of the latest period, and their change from the one before."""
    latest = table[table["period_start"] == table["period_start"].max()]
    counts = latest.pivot_table(index="area", columns="topic", values="count", aggfunc="sum",
                                fill_value=0, observed=True)
    before = latest.assign(previous=latest["previous_count"].fillna(0).astype(int)).pivot_table(
        index="area", columns="topic", values="previous", aggfunc="sum", fill_value=0,
        observed=True)
    topics = [t for t in (*taxonomy.codes, taxonomy.other.code) if t in counts.columns]
    areas = sorted(counts.index, key=lambda a: (-int(counts.loc[a].sum()), a))
    names = [taxonomy.name(t) for t in topics]
    count_rows = ([a, *(int(counts.at[a, t]) for t in topics), int(counts.loc[a].sum())]
                  for a in areas)
    change_rows = ([a, *(int(counts.at[a, t]) - int(before.at[a, t]) for t in topics)]
                   for a in areas)
    word = {"day": "ngày", "week": "tuần", "month": "tháng"}[period]
    return [
        Sheet("Số đơn", ["Địa bàn", *names, "Tổng"], count_rows, {0: 40}, note=label),
        Sheet("Thay đổi", ["Địa bàn", *names], change_rows, {0: 40},
              note=f"{label}: số đơn kỳ này trừ số đơn {word} trước"),
    ]
