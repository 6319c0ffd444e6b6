"""The monthly report (báo cáo tháng) on citizens' petitions as a DOCX, optionally a PDF.

The layout is that of an administrative report under Nghị định 30/2020/NĐ-CP (Phụ lục I): A4,
margins 20/20/30/20 mm, Times New Roman 13–14; the two-column header (issuing body with a short
rule under it and the number on the left; the national motto on one line and the "Độc lập - Tự do
- Hạnh phúc" line with its rule on the right), the place and date line, the title and its
summary line; sections I. tình hình tiếp nhận, II. kết quả giải quyết, III. điểm nóng và cảnh báo,
IV. đánh giá, V. phương hướng, nhiệm vụ tháng tới; "Nơi nhận" and the signature block; then the
annex table (village × topic) whose header row repeats on every page. Page numbers are centred
at the top from the second page. Places the office must write itself are highlighted.

An office may supply its own DOCX template (docxtpl, Jinja tags): the body is inserted where the
template says `{{p noi_dung }}`; see `TEMPLATE_FIELDS`.

Personal data never enter the document: only counts, detector explanations and the office's own
petition numbers. Explanations are built from counts and places, but an emerging cluster quotes
one sentence of a petition, so every explanation is passed through the personal-data redactor and
stripped of the month's sender names before it is written.
"""

from __future__ import annotations

import calendar
import io
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from natsort import natsort_keygen

from pipeline.intake.dates import DateError, parse_month
from pipeline.intake.normalize import fold_diacritics
from pipeline.monitor.common import SEVERITIES, SEVERITY_NAMES, format_number
from pipeline.monitor.emerging import EmergingIssue
from pipeline.monitor.engine import BACKFILL_DAYS, data_extent, known_places, load_frame
from pipeline.monitor.hotspots import Hotspot
from pipeline.monitor.span import findings_over
from pipeline.monitor.trends import area_labels
from pipeline.records import SOURCE_TYPE_NAMES
from pipeline.store import AlertStore, PetitionFilter, PetitionStore, list_petitions
from pipeline.store.cases import case_counts, follow_up_started, office_today
from pipeline.taxonomy import default_taxonomy, topic_names
from pipeline.text.redact import find_pii, redact
from pipeline.text.signals import SIGNALS, UNKNOWN_AREA

FONT = "Times New Roman"
CHART_FONT = "DejaVu Sans"  # ships with matplotlib and has every Vietnamese glyph
# Nghị định 30/2020/NĐ-CP, Phụ lục I: A4, top/bottom 20–25 mm, left 30–35 mm, right 15–20 mm.
PAGE_CM = (21.0, 29.7)
MARGINS_CM = {"top": 2.0, "bottom": 2.0, "left": 3.0, "right": 2.0}
BODY_PT = 14
HANDLING_DAYS = 10  # an alert is handled on time when acknowledged within this many days
FILL = "……………"
ALERT_STATUS_NAMES: dict[str, str] = {
    "open": "Mới phát sinh, chưa tiếp nhận",
    "acknowledged": "Đã tiếp nhận, đang xử lý",
    "resolved": "Đã giải quyết",
    "closed": "Tự kết thúc (không còn dấu hiệu)",
}
SIGNAL_PHRASES: dict[str, str] = {
    "mass": "đơn tập thể, đông người",
    "repeat": "đơn phản ánh nhiều lần, kéo dài",
    "escalated": "đơn gửi vượt cấp",
    "urgent": "đơn có tính chất khẩn cấp",
}
RECIPIENTS: tuple[str, ...] = (
    "Thường trực Đảng ủy (để báo cáo);",
    "Thường trực HĐND;",
    "Chủ tịch, các Phó Chủ tịch UBND;",
    "Ủy ban MTTQ Việt Nam;",
    "Công an;",
    "Lưu: VT.",
)
# What a docxtpl template may use; the body goes where it says {{p noi_dung }}.
TEMPLATE_FIELDS: dict[str, str] = {
    "co_quan": "cơ quan báo cáo, chữ in hoa (ví dụ ỦY BAN NHÂN DÂN XÃ VĨNH GIANG)",
    "so_ky_hieu": "số, ký hiệu (ví dụ Số:      /BC-UBND)",
    "dia_danh_ngay": "địa danh, ngày tháng năm",
    "trich_yeu": "tên báo cáo (trích yếu)",
    "thang": "tháng báo cáo, mm/yyyy",
    "tong_so": "tổng số đơn trong tháng",
    "noi_nhan": "danh sách nơi nhận",
    "noi_dung": "toàn bộ nội dung (mục I–V và phụ lục); dùng {{p noi_dung }}",
}
_UNIT_WORDS = r"(?:xã|phường|thị trấn|đặc khu|huyện|quận|thị xã|thành phố|tỉnh)"
_LEADING_TITLE = re.compile(
    r"^(?:cử tri|ông bà|ông|bà|anh|chị|cô|chú|bác|cụ|em|cháu)\s+", re.IGNORECASE
)
_MAX_IDS = 15
_NATURAL = natsort_keygen()

ReportProgress = Callable[[str, int, int], None]


class ReportError(ValueError):
    """A report was asked with a bad month or area, or could not be written or converted."""


class EmptyMonthError(ReportError):
    """The month lies outside the stored data: a report would be all zeros."""


class FutureMonthError(ReportError):
    """The month asked for has not come yet."""


class UnknownAreaError(ReportError):
    """No stored petition lies in the area asked for."""


@dataclass(frozen=True)
class _Month:
    start: date
    end: date

    @property
    def label(self) -> str:
        return f"{self.start:%m/%Y}"

    @property
    def previous(self) -> _Month:
        return _month(self.start - timedelta(days=1))

    @property
    def last_year(self) -> _Month:
        return _month(date(self.start.year - 1, self.start.month, 1))

    @property
    def next(self) -> _Month:
        return _month(self.end + timedelta(days=1))

    def days(self) -> list[date]:
        return [self.start + timedelta(days=d) for d in range((self.end - self.start).days + 1)]


def _month(day: date) -> _Month:
    last = calendar.monthrange(day.year, day.month)[1]
    return _Month(date(day.year, day.month, 1), date(day.year, day.month, last))


def month_of(text: str) -> _Month:
    """Return the month written as mm/yyyy or yyyy-mm; raise ReportError otherwise."""
    try:
        year, number = parse_month(text) if isinstance(text, str) else parse_month("")
    except DateError as error:
        raise ReportError(str(error)) from error
    return _month(date(year, number, 1))


def natural_key(label: str) -> Any:
    """Return a sort key putting "thôn 5" before "thôn 12" (diacritics folded, case ignored)."""
    return _NATURAL(fold_diacritics(label).casefold()), _NATURAL(label.casefold())


# ---------------------------------------------------------------------- numbers and text
def vn_int(value: int) -> str:
    """Return an integer with the Vietnamese thousands dot: 12345 → "12.345"."""
    return format_number(float(value), 0)


def vn_change(current: int, previous: int) -> str:
    """Return the change from last month as Vietnamese text: "+12,5%", "-3%", "mới phát sinh"."""
    if previous == 0:
        return "—" if current == 0 else "mới phát sinh"
    percent = (current - previous) / previous * 100
    sign = "+" if percent > 0 else ""
    return f"{sign}{format_number(percent, 1)}%"


class _Scrubber:
    """Removes personal data from the few free texts the report quotes."""

    def __init__(self, sender_names: Iterable[Any]):
        names = set()
        for raw in sender_names:
            if not isinstance(raw, str):
                continue
            name = " ".join(_LEADING_TITLE.sub("", raw.strip()).split())
            # A one-syllable name ("Lan") would also erase ordinary words.
            if len(name.split()) >= 2:
                names.add(name)
        alternatives = sorted(names, key=len, reverse=True)
        self._names = (re.compile("|".join(rf"(?<!\w){re.escape(n)}(?!\w)" for n in alternatives),
                                  re.IGNORECASE) if alternatives else None)

    def __call__(self, text: str) -> str:
        # Regular expressions only: the NER model is slow and honorific patterns catch names
        # written in a quoted sentence ("ông Nguyễn Văn A"); known senders are removed below.
        cleaned = redact(text, find_pii(text, use_ner=False))
        if self._names is not None:
            cleaned = self._names.sub("[HỌ TÊN]", cleaned)
        return cleaned


# ---------------------------------------------------------------------- data of the report
@dataclass
class Episode:
    """One hot spot or emerging issue over the month: the days it was seen, at its strongest."""

    first_day: date
    last_day: date
    window_start: date
    window_end: date
    strongest: Hotspot | EmergingIssue
    petition_ids: set[int] = field(default_factory=set)

    @property
    def severity(self) -> str:
        return self.strongest.severity


def _stronger(a: Any, b: Any) -> bool:
    return (SEVERITIES.index(a.severity), a.count) > (SEVERITIES.index(b.severity), b.count)


def _merge(found: dict[tuple[str, str], list[Episode]], key: tuple[str, str], day: date,
           item: Hotspot | EmergingIssue, *, same_petitions: bool = False) -> None:
    """Add a day's sighting to its episode, or open a new episode.

    A sighting continues an episode when its window overlaps (or touches) the episode's last
    window; with `same_petitions` (emerging issues, whose label changes as a cluster grows) it
    must also share a petition with it.
    """
    episodes = found.setdefault(key, [])
    for current in reversed(episodes):
        if item.window_start > current.window_end + timedelta(days=1):
            continue
        if same_petitions and not current.petition_ids.intersection(item.petition_ids):
            continue
        current.last_day = day
        current.window_start = min(current.window_start, item.window_start)
        current.window_end = max(current.window_end, item.window_end)
        current.petition_ids.update(item.petition_ids)
        if _stronger(item, current.strongest):
            current.strongest = item
        return
    episodes.append(Episode(day, day, item.window_start, item.window_end, item,
                            set(item.petition_ids)))


@dataclass(frozen=True)
class _Findings:
    hotspots: list[Episode]
    emerging: list[Episode]


def _findings(store: PetitionStore, month: _Month, area_ids: set[int] | None,
              progress: ReportProgress) -> _Findings:
    """Return every hot spot and emerging issue of the month, day by day, merged into episodes.

    The dashboard shows the hot spots of any day; the report must hold each one seen on any day
    of the month, so each day's findings (those the dashboard shows that day, evaluated with
    the month's reading shared by its days) are merged: consecutive sightings, one episode.
    """
    spots: dict[tuple[str, str], list[Episode]] = {}
    issues: dict[tuple[str, str], list[Episode]] = {}

    def tell(day: date, done: int, total: int) -> None:
        progress(f"Xét điểm nóng ngày {day:%d/%m}", done, total)

    for found in findings_over(store, month.days(), progress=tell):
        for spot in found.hotspots:
            if area_ids is None or area_ids.intersection(spot.petition_ids):
                _merge(spots, (spot.area.casefold(), spot.topic), found.day, spot)
        for issue in found.emerging:
            if area_ids is None or area_ids.intersection(issue.petition_ids):
                _merge(issues, (issue.area.casefold(), issue.kind), found.day, issue,
                       same_petitions=True)

    def ordered(found: dict[tuple[str, str], list[Episode]]) -> list[Episode]:
        episodes = [e for group in found.values() for e in group]
        return sorted(episodes, key=lambda e: (-SEVERITIES.index(e.severity), e.first_day,
                                               natural_key(e.strongest.area)))

    return _Findings(ordered(spots), ordered(issues))


def area_mask(frame: pd.DataFrame, area: str) -> pd.Series:
    """Return which rows of an analysis frame lie in `area` (part of a place name, any case)."""
    wanted = area.strip().casefold()
    mask = pd.Series(False, index=frame.index)
    for column in ("area", "village", "commune", "province"):
        values = frame[column].str.casefold().str.contains(wanted, regex=False)
        mask |= values.fillna(False).astype(bool)
    return mask


def _month_alerts(alert_store: AlertStore, month: _Month, area: str | None,
                  area_ids: set[int] | None) -> list[dict[str, Any]]:
    """Return the alerts whose window overlaps the month (and the area), oldest first."""
    found, offset = [], 0
    while True:
        page = alert_store.list_alerts(limit=500, offset=offset)
        for row in page:
            if row["window_start"] > month.end or row["window_end"] < month.start:
                continue
            if area is not None and area_ids is not None:
                in_area = area.strip().casefold() in str(row["area"]).casefold()
                if not in_area and not area_ids.intersection(row["petition_ids"] or ()):
                    continue
            found.append(row)
        if len(page) < 500:
            break
        offset += 500
    return sorted(found, key=lambda r: r["id"])


def _in_month(frame: pd.DataFrame, month: _Month) -> pd.DataFrame:
    received = frame["received_at"]
    return frame[(received >= pd.Timestamp(month.start)) & (received <= pd.Timestamp(month.end))]


def _topic_counts(frame: pd.DataFrame) -> dict[str, int]:
    """Return {topic: petitions} (a petition counts once under each of its topics)."""
    if frame.empty:
        return {}
    return {str(k): int(v) for k, v in frame["topics"].explode().value_counts().items()}


def _place_labels(frame: pd.DataFrame, commune: str | None) -> pd.Series:
    """Return each petition's place for the tables: the village alone within one commune."""
    if commune is not None:
        village = frame["village"].str.strip()
        return village.where(village.notna() & (village != ""), UNKNOWN_AREA).astype("string")
    return area_labels(frame, "village")


_ROW_NUMBER_COLUMNS = ("stt", "so tt", "so thu tu", "tt")


def _book_row(row: dict[str, Any]) -> tuple[str, str] | None:
    """Return (where, number) of a petition from a tracking book without office numbers: the
    book's own "STT" column, else the row of the file; None for a petition without either."""
    columns = (row.get("extra") or {}).get("columns") or {}
    for name, value in columns.items():
        if fold_diacritics(str(name)).casefold().strip(" .") in _ROW_NUMBER_COLUMNS and value:
            return f"sổ {Path(str(row['source_file'])).name}, STT", str(value)
    if row.get("source_row") and row.get("source_file"):
        return f"tệp {Path(str(row['source_file'])).name}, dòng", str(row["source_row"])
    return None


def _office_numbers(store: PetitionStore, ids: Iterable[int]
                    ) -> dict[int, str | tuple[str, str]]:
    """Return {database id: the office's own number, or (book, row number) in its book}."""
    wanted = tuple(sorted(set(ids)))
    if not wanted:
        return {}
    rows, _ = list_petitions(store.engine, PetitionFilter(ids=wanted), limit=len(wanted))
    numbers: dict[int, str | tuple[str, str]] = {}
    for row in rows:
        if row.get("external_id"):
            numbers[int(row["id"])] = str(row["external_id"])
        elif (place := _book_row(row)) is not None:
            numbers[int(row["id"])] = place
    return numbers


@dataclass(frozen=True)
class _Data:
    period: _Month
    unit: str
    area: str | None
    first_day: date | None  # of the stored data
    current: pd.DataFrame
    previous: pd.DataFrame
    last_year: pd.DataFrame
    commune: str | None
    findings: _Findings
    alerts: list[dict[str, Any]]
    numbers: dict[int, str | tuple[str, str]]
    now: datetime
    # Follow-up of the month's petitions (None while the office records no status) and the day
    # overdue cases were counted on.
    cases: dict[str, int] | None = None
    cases_on: date | None = None


def _data_range(first_day: date | None, last_day: date | None) -> str:
    if first_day is None or last_day is None:
        return "cơ sở dữ liệu chưa có đơn nào"
    return f"dữ liệu hiện có từ {first_day:%d/%m/%Y} đến {last_day:%d/%m/%Y}"


# ---------------------------------------------------------------------- chart
def _topic_chart(labels: Sequence[str], current: Sequence[int], previous: Sequence[int],
                 month: _Month) -> bytes:
    """Return a PNG bar chart of this month's and last month's petitions per topic."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"font.family": CHART_FONT, "font.size": 9}):
        figure = Figure(figsize=(7.0, 3.6), dpi=150)
        axes = figure.subplots()
        positions = list(range(len(labels)))
        width = 0.38
        axes.bar([p - width / 2 for p in positions], previous, width,
                 label=f"Tháng {month.previous.label}", color="#9fb7d4")
        bars = axes.bar([p + width / 2 for p in positions], current, width,
                        label=f"Tháng {month.label}", color="#1f4e8c")
        axes.bar_label(bars, labels=[vn_int(v) for v in current], fontsize=7, padding=1)
        axes.set_xticks(positions, [_wrap(label) for label in labels], fontsize=7)
        axes.set_ylabel("Số đơn")
        axes.set_title(f"Đơn thư, phản ánh theo lĩnh vực: tháng {month.label} so với tháng "
                       f"{month.previous.label}")
        axes.yaxis.set_major_formatter(
            matplotlib.ticker.FuncFormatter(lambda v, _: vn_int(int(v))))
        axes.legend(frameon=False)
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _wrap(label: str, width: int = 11) -> str:
    lines: list[str] = []
    for word in label.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "\n".join(lines)


# ---------------------------------------------------------------------- document helpers
def _unit_lines(unit_name: str) -> list[str]:
    """Return the issuing body in capitals, split before its administrative unit."""
    upper = " ".join(unit_name.split()).upper()
    match = re.search(rf"\s(?={_UNIT_WORDS.upper()}\s)", upper)
    if match and match.start() > 0:
        return [upper[: match.start()], upper[match.end():]]
    return [upper]


def _place_of(unit_name: str) -> str | None:
    match = re.search(rf"{_UNIT_WORDS}\s+(.+)$", unit_name, re.IGNORECASE)
    return match.group(1).strip() if match else None


def _code_of(unit_name: str) -> str:
    folded = unit_name.casefold()
    if "ủy ban nhân dân" in folded or "ubnd" in folded:
        return "UBND"
    if "đảng ủy" in folded:
        return "ĐU"
    if "công an" in folded:
        return "CA"
    return "UBND"


def _main_commune(frame: pd.DataFrame, share: float = 0.9) -> str | None:
    """Return the commune of nearly all located petitions, or None when they are spread out."""
    communes = frame["commune"].dropna().str.strip()
    communes = communes[communes != ""]
    if communes.empty:
        return None
    counts = communes.value_counts()
    # A few misread place names ("xã để") must not hide that the data hold one commune.
    return str(counts.index[0]) if counts.iloc[0] >= share * len(communes) else None


class _Writer:
    """Thin helpers over python-docx with the fonts and spacing of an administrative text.

    `target` is a python-docx Document, or a docxtpl sub-document when an office template is
    used; both take paragraphs, tables and pictures the same way.
    """

    def __init__(self, target: Any) -> None:
        from docx.shared import Pt

        self.Pt = Pt
        self.doc = target

    def paragraph(self, text: str = "", *, bold: bool = False, italic: bool = False,
                  align: str | None = None, size: float | None = None, cell: Any = None,
                  indent: bool = False, after: float | None = None) -> Any:
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Cm

        target = cell if cell is not None else self.doc
        para = target.add_paragraph()
        if align is not None:
            para.alignment = getattr(WD_ALIGN_PARAGRAPH, align)
        if indent:
            para.paragraph_format.first_line_indent = Cm(1)
        if after is not None:
            para.paragraph_format.space_after = self.Pt(after)
        if text:
            self.run(para, text, bold=bold, italic=italic, size=size)
        return para

    def run(self, para: Any, text: str, *, bold: bool = False, italic: bool = False,
            size: float | None = None) -> Any:
        run = para.add_run(text)
        run.bold, run.italic = bold, italic
        run.font.name = FONT
        if size is not None:
            run.font.size = self.Pt(size)
        return run

    def to_fill(self, para: Any, text: str) -> Any:
        """Add a highlighted run: words the office writes itself before signing."""
        from docx.enum.text import WD_COLOR_INDEX

        run = self.run(para, text, italic=True)
        run.font.highlight_color = WD_COLOR_INDEX.YELLOW
        return run

    def heading(self, text: str) -> None:
        para = self.paragraph(text, bold=True, indent=True)
        para.paragraph_format.space_before = self.Pt(6)
        para.paragraph_format.keep_with_next = True

    def body(self, text: str) -> Any:
        return self.paragraph(text, indent=True, align="JUSTIFY")

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]], *,
              size: float = 12, bold_last: bool = False, first_width_cm: float | None = None,
              widths_cm: Sequence[float] | None = None) -> Any:
        """Add a table of figures (numbers right-aligned); `widths_cm` fixes every column and
        leaves its words left-aligned, else `first_width_cm` fixes the first one."""
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Cm

        table = self.doc.add_table(rows=1 + len(rows), cols=len(header))
        table.style = "Table Grid"
        # Row by row: python-docx's table.cell(r, c) walks the whole grid on every call.
        for r, (row, values) in enumerate(zip(table.rows, [list(header), *map(list, rows)],
                                              strict=True)):
            for c, (cell, value) in enumerate(zip(row.cells, values, strict=True)):
                para = cell.paragraphs[0]
                self.run(para, value, size=size, bold=r == 0 or (bold_last and r == len(rows)))
                para.paragraph_format.space_after = self.Pt(0)
                para.paragraph_format.first_line_indent = Cm(0)
                if r == 0:
                    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
                elif c > 0 and widths_cm is None:
                    para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        repeat_header_row(table)
        if first_width_cm is not None and widths_cm is None:
            # The first column holds names (villages, topics) on one line, the others share
            # what is left of the text width.
            text_width = PAGE_CM[0] - MARGINS_CM["left"] - MARGINS_CM["right"]
            rest = (text_width - first_width_cm) / max(len(header) - 1, 1)
            widths_cm = [first_width_cm, *[rest] * (len(header) - 1)]
        if widths_cm is not None:
            widths = list(widths_cm)
            table.autofit = False
            table._tbl.tblPr.append(_xml("w:tblLayout", type="fixed"))
            for column, width in zip(table.columns, widths, strict=True):
                column.width = Cm(width)
            for row in table.rows:
                for cell, width in zip(row.cells, widths, strict=True):
                    cell.width = Cm(width)
        return table


def _xml(tag: str, **attributes: str) -> Any:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    element = OxmlElement(tag)
    for name, value in attributes.items():
        element.set(qn(f"w:{name}"), value)
    return element


def repeat_header_row(table: Any) -> None:
    """Mark the first row as a header repeated on every page; no row splits across pages."""
    # python-docx has no API for these two row properties (w:tblHeader, w:cantSplit).
    for index, row in enumerate(table.rows):
        properties = row._tr.get_or_add_trPr()
        properties.append(_xml("w:cantSplit"))
        if index == 0:
            properties.append(_xml("w:tblHeader"))


def rule(writer: _Writer, width_cm: float, space_cm: float, *, cell: Any = None) -> Any:
    """Add the short solid rule drawn under a header line: `width_cm` long, centred in a space
    `space_cm` wide (a paragraph of its own, so the line above keeps its full width)."""
    from docx.shared import Cm, Pt

    para = writer.paragraph(cell=cell, after=0)
    side = max((space_cm - width_cm) / 2, 0)
    para.paragraph_format.left_indent = Cm(side)
    para.paragraph_format.right_indent = Cm(side)
    para.paragraph_format.first_line_indent = Cm(0)
    para.paragraph_format.line_spacing = Pt(2)
    # python-docx has no paragraph borders: one bottom border element.
    borders = _xml("w:pBdr")
    borders.append(_xml("w:bottom", val="single", sz="6", space="1", color="000000"))
    para._p.get_or_add_pPr().append(borders)
    return para


def _page_number_header(section: Any) -> None:
    """Put the page number, centred, at the top of every page but the first (NĐ 30)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    section.different_first_page_header_footer = True
    para = section.header.paragraphs[0]
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = para.add_run()
    run.font.name, run.font.size = FONT, Pt(BODY_PT)
    # A PAGE field: python-docx writes no fields, so the three field characters are built here.
    run._r.append(_xml("w:fldChar", fldCharType="begin"))
    instruction = _xml("w:instrText")
    instruction.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    instruction.text = " PAGE "
    run._r.append(instruction)
    run._r.append(_xml("w:fldChar", fldCharType="separate"))
    number = _xml("w:t")
    number.text = "2"
    run._r.append(number)
    run._r.append(_xml("w:fldChar", fldCharType="end"))


def _new_document() -> Any:
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    doc = Document()
    doc.core_properties.author = "Tâm tư"
    doc.core_properties.comments = ""
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(PAGE_CM[0]), Cm(PAGE_CM[1])
    section.top_margin, section.bottom_margin = Cm(MARGINS_CM["top"]), Cm(MARGINS_CM["bottom"])
    section.left_margin, section.right_margin = Cm(MARGINS_CM["left"]), Cm(MARGINS_CM["right"])
    section.header_distance = Cm(1.0)
    style = doc.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(BODY_PT)
    # East-Asian font slot too, or Word falls back to another face for some glyphs.
    style.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    style.paragraph_format.space_after = Pt(6)
    style.paragraph_format.line_spacing = 1.1
    _page_number_header(section)
    return doc


def _drop_leading_blank(cell: Any) -> None:
    # python-docx starts each cell with an empty paragraph; drop it so the lines sit at the top.
    first = cell.paragraphs[0]
    if not first.text and len(cell.paragraphs) > 1:
        first._element.getparent().remove(first._element)


def _fixed_table(writer: _Writer, widths_cm: Sequence[float]) -> Any:
    from docx.shared import Cm

    table = writer.doc.add_table(rows=1, cols=len(widths_cm))
    table.autofit = False
    table._tbl.tblPr.append(_xml("w:tblLayout", type="fixed"))
    for column, width in zip(table.columns, widths_cm, strict=True):
        column.width = Cm(width)
    for cell, width in zip(table.rows[0].cells, widths_cm, strict=True):
        cell.width = Cm(width)
    return table


# ---------------------------------------------------------------------- the report
def build_monthly_report(
    store: PetitionStore,
    month: str,
    *,
    area: str | None = None,
    out: Path,
    unit_name: str | None = None,
    report_date: date | None = None,
    template: Path | None = None,
    allow_empty: bool = False,
    progress: ReportProgress | None = None,
) -> Path:
    """Return the path of the monthly DOCX report written for `month` (mm/yyyy or yyyy-mm).

    `area` limits the report to petitions whose area, village, commune or province contains it
    (case-insensitive), e.g. "Vĩnh Giang"; an area matching no petition is an error.
    `unit_name` is the issuing body ("Ủy ban nhân dân xã Vĩnh Giang"); by default it is read from
    the data when they hold a single commune. `report_date` fills the "ngày … tháng … năm …"
    line; left blank for the signer otherwise. `template` is an office's own DOCX (docxtpl tags,
    see TEMPLATE_FIELDS). A month in the future is refused; a month outside the stored data
    raises EmptyMonthError unless `allow_empty`. `progress(step, done, total)` hears each step.
    Hot spots and emerging issues are those of every day of the month, merged into episodes.
    """
    period = month_of(month)
    tell = progress or (lambda step, done, total: None)
    if area is not None and not area.strip():
        raise ReportError("địa bàn (area) không được để trống")
    today = datetime.now(UTC).date()
    if period.start > today:
        raise FutureMonthError(f"tháng {period.label} chưa đến (hôm nay là {today:%d/%m/%Y})")
    if template is not None and not Path(template).is_file():
        raise ReportError(f"không tìm thấy tệp mẫu '{template}'")
    tell("Đọc dữ liệu", 0, 1)
    data = _gather(store, period, area, unit_name, allow_empty, tell)
    tell("Ghi báo cáo", 0, 1)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if template is None:
        document = _new_document()
        writer = _Writer(document)
        _header(writer, data.unit, report_date)
        _title(writer, data)
        _body(writer, data)
        _closing(writer, data.unit)
        _annex(writer, data, new_page=True)
        document.save(str(out))
    else:
        _render_template(Path(template), data, report_date, out)
    tell("Ghi báo cáo", 1, 1)
    return out


def _gather(store: PetitionStore, period: _Month, area: str | None, unit_name: str | None,
            allow_empty: bool, tell: ReportProgress) -> _Data:
    # The month, the month before and the same month last year are all the rows it reads.
    history = load_frame(store, start=period.last_year.start, end=period.end)
    first_day, last_day = data_extent(store)
    if area is not None:
        if not area_mask(known_places(store), area).any():
            raise UnknownAreaError(f"không có đơn nào ở địa bàn '{area.strip()}' "
                              "(xem tên thôn, xã trong lệnh: tamtu trends --level village)")
        scope = history[area_mask(history, area)]
        area_ids: set[int] | None = set(int(i) for i in scope["id"])
    else:
        scope, area_ids = history, None
    current = _in_month(scope, period)
    if current.empty and not allow_empty:
        outside = first_day is None or last_day is None or not (
            first_day <= period.end and last_day >= period.start)
        if outside:
            raise EmptyMonthError(f"tháng {period.label} không có dữ liệu; "
                                  f"{_data_range(first_day, last_day)}")
    commune = _main_commune(current if len(current) else scope)
    unit = unit_name or (f"Ủy ban nhân dân {commune}" if commune else "Ủy ban nhân dân")
    findings = (_findings(store, period, area_ids, tell) if len(current)
                else _Findings([], []))
    alerts = _month_alerts(AlertStore(store.engine), period, area, area_ids)
    shown = [i for e in (*findings.hotspots, *findings.emerging)
             for i in sorted(e.petition_ids)[:_MAX_IDS]]
    now = datetime.now(UTC)
    cases_on = min(period.end, office_today())
    tracked = follow_up_started(store.engine, start=period.start, end=period.end, ids=area_ids)
    cases = (case_counts(store.engine, today=cases_on, start=period.start, end=period.end,
                         ids=area_ids) if tracked else None)
    return _Data(period, unit, area.strip() if area else None, first_day, current,
                 _in_month(scope, period.previous), _in_month(scope, period.last_year), commune,
                 findings, alerts, _office_numbers(store, shown), now, cases, cases_on)


def _body(writer: _Writer, data: _Data) -> None:
    scrub = _Scrubber(data.current["sender_name"])
    _received(writer, data)
    _handling(writer, data)
    _hotspots_section(writer, data, scrub)
    _assessment(writer, data)
    _next_month(writer, data)


def _render_template(template: Path, data: _Data, report_date: date | None, out: Path) -> None:
    from docxtpl import DocxTemplate
    from jinja2 import TemplateError

    try:
        document = DocxTemplate(str(template))
        body = document.new_subdoc()
        writer = _Writer(body)
        _body(writer, data)
        _annex(writer, data, new_page=False)
        document.render({
            "co_quan": " ".join(_unit_lines(data.unit)),
            "so_ky_hieu": f"Số:       /BC-{_code_of(data.unit)}",
            "dia_danh_ngay": _place_date(data.unit, report_date),
            "trich_yeu": _summary_line(data),
            "thang": data.period.label,
            "tong_so": vn_int(len(data.current)),
            "noi_nhan": list(RECIPIENTS),
            "noi_dung": body,
        })
        document.save(str(out))
    except TemplateError as error:
        raise ReportError(f"tệp mẫu '{template.name}' có thẻ sai: {error}") from error
    except (KeyError, ValueError, OSError) as error:
        raise ReportError(f"không dùng được tệp mẫu '{template.name}': {error}") from error


# ---------------------------------------------------------------------- header and title
def _place_date(unit: str, report_date: date | None) -> str:
    place = _place_of(unit) or FILL
    # NĐ 30: a day below 10 and the months 1 and 2 take a leading zero ("ngày 05 tháng 02").
    month = f"{report_date.month:02d}" if report_date and report_date.month < 3 else (
        str(report_date.month) if report_date else "")
    when = (f"ngày {report_date.day:02d} tháng {month} năm {report_date.year}"
            if report_date else "ngày …… tháng …… năm ……")
    return f"{place}, {when}"


def _header(writer: _Writer, unit: str, report_date: date | None) -> None:
    widths = (6.0, 10.0)
    table = _fixed_table(writer, widths)
    left, right = table.rows[0].cells
    # One issuing body's name on two lines: both bold (only a parent body's line is not).
    for line in _unit_lines(unit):
        writer.paragraph(line, bold=True, align="CENTER", size=13, cell=left, after=0)
    rule(writer, 2.2, widths[0], cell=left)
    writer.paragraph("", cell=left, after=0, size=6)
    writer.paragraph("Số:       /BC-" + _code_of(unit), align="CENTER", size=13, cell=left)
    writer.paragraph("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True, align="CENTER", size=13,
                     cell=right, after=0)
    writer.paragraph("Độc lập - Tự do - Hạnh phúc", bold=True, align="CENTER", size=14,
                     cell=right, after=0)
    rule(writer, 6.3, widths[1], cell=right)
    writer.paragraph("", cell=right, after=0, size=6)
    writer.paragraph(_place_date(unit, report_date), italic=True, align="CENTER", size=14,
                     cell=right)
    for cell in (left, right):
        _drop_leading_blank(cell)


def _summary_line(data: _Data) -> str:
    scope = f" trên địa bàn {data.area}" if data.area else ""
    return ("Tình hình tiếp nhận, giải quyết đơn thư, phản ánh, kiến nghị của Nhân dân"
            f"{scope} tháng {data.period.label}")


def _title(writer: _Writer, data: _Data) -> None:
    writer.paragraph(after=0)
    writer.paragraph("BÁO CÁO", bold=True, align="CENTER", after=0)
    writer.paragraph(_summary_line(data), bold=True, align="CENTER", after=2)
    rule(writer, 4.0, 16.0)
    writer.paragraph(after=0)
    period = data.period
    scope = f" trên địa bàn {data.area}" if data.area else ""
    writer.body(
        f"{data.unit[0].upper() + data.unit[1:]} báo cáo tình hình tiếp nhận, giải quyết đơn "
        f"thư, phản ánh, kiến nghị của Nhân dân{scope} trong tháng {period.label} (từ ngày "
        f"{period.start:%d/%m/%Y} đến ngày {period.end:%d/%m/%Y}) như sau:")


# ---------------------------------------------------------------------- I. receipt
NO_DATA = "chưa có số liệu"


def _recorded(data: _Data, month: _Month) -> bool:
    """Return whether the stored data reach back into `month` (else its zeros are not zeros
    but a month before the system held any petition)."""
    return data.first_day is not None and data.first_day <= month.end + timedelta(days=1)


def _compared(current: int, other: int, known: bool) -> list[str]:
    return [vn_int(other), vn_change(current, other)] if known else ["—", "—"]


def _compare_rows(keys: Sequence[str], names: dict[str, str], now: dict[str, int],
                  before: dict[str, int], year: dict[str, int],
                  known: tuple[bool, bool] = (True, True)) -> list[list[str]]:
    rows = []
    for key in keys:
        a, b, c = now.get(key, 0), before.get(key, 0), year.get(key, 0)
        rows.append([names.get(key, key), vn_int(a), *_compared(a, b, known[0]),
                     *_compared(a, c, known[1])])
    return rows


def _compare_header(first: str, period: _Month) -> list[str]:
    return [first, f"Tháng {period.label}", f"Tháng {period.previous.label}", "So tháng trước",
            f"Tháng {period.last_year.label}", "So cùng kỳ"]


def _received(writer: _Writer, data: _Data) -> None:
    period, current = data.period, data.current
    writer.heading("I. TÌNH HÌNH TIẾP NHẬN ĐƠN THƯ, PHẢN ÁNH, KIẾN NGHỊ")
    total, before, year = len(current), len(data.previous), len(data.last_year)
    if total == 0:
        writer.body(f"Trong tháng {period.label}, không tiếp nhận đơn thư, phản ánh, kiến nghị "
                    f"nào (tháng {period.previous.label}: {vn_int(before)} đơn; cùng kỳ năm "
                    f"trước: {vn_int(year)} đơn). Không có số liệu để tổng hợp theo lĩnh vực, "
                    "loại đơn và địa bàn.")
        return
    known = (_recorded(data, period.previous), _recorded(data, period.last_year))
    last_month = (f"tháng {period.previous.label}: {vn_int(before)} đơn, "
                  f"{_change_words(total, before)}" if known[0] else
                  f"tháng {period.previous.label}: {NO_DATA} trên hệ thống")
    last_year = (f"tháng {period.last_year.label}: {vn_int(year)} đơn, "
                 f"{_change_words(total, year, 'cùng kỳ năm trước')}" if known[1] else
                 f"cùng kỳ năm trước (tháng {period.last_year.label}): {NO_DATA} trên hệ thống")
    writer.body(
        f"1. Tổng số đơn thư, phản ánh, kiến nghị tiếp nhận trong tháng: {vn_int(total)} đơn "
        f"({last_month}; {last_year}).")
    flagged = [f"{vn_int(n)} {SIGNAL_PHRASES[s]}" for s in SIGNALS
               if (n := int(current["signals"].map(lambda codes, s=s: s in codes).sum()))]
    if flagged:
        writer.body("Trong đó: " + "; ".join(flagged) + ".")

    names = topic_names()
    taxonomy = default_taxonomy()
    codes = [*taxonomy.codes, taxonomy.other.code]
    now, last, year_ago = (_topic_counts(f) for f in (current, data.previous, data.last_year))
    writer.body("2. Theo lĩnh vực (một đơn có thể thuộc nhiều lĩnh vực nên tổng theo lĩnh vực có "
                "thể lớn hơn tổng số đơn):")
    writer.table(_compare_header("Lĩnh vực", period),
                 _compare_rows(codes, names, now, last, year_ago, known), size=11,
                 first_width_cm=4.2)
    from docx.shared import Cm

    chart = _topic_chart([names.get(c, c) for c in codes], [now.get(c, 0) for c in codes],
                         [last.get(c, 0) for c in codes], period)
    para = writer.paragraph(align="CENTER", after=0)
    para.add_run().add_picture(io.BytesIO(chart), width=Cm(15.5))
    writer.paragraph(f"Biểu đồ 1. Số đơn theo lĩnh vực, tháng {period.label} so với tháng "
                     f"{period.previous.label}", italic=True, align="CENTER", size=12)

    writer.body("3. Theo loại đơn, nguồn tiếp nhận:")
    counts = [f["source_type"].value_counts().to_dict()
              for f in (current, data.previous, data.last_year)]
    sources = [s for s in SOURCE_TYPE_NAMES if any(s in c for c in counts)]
    sources += sorted(set().union(*counts) - set(sources))
    rows = _compare_rows(sources, SOURCE_TYPE_NAMES, *counts, known)
    rows.append(["Tổng số", vn_int(total), *_compared(total, before, known[0]),
                 *_compared(total, year, known[1])])
    writer.table(_compare_header("Loại đơn", period), rows, size=11, bold_last=True,
                 first_width_cm=4.2)

    first = f"Thôn ({data.commune})" if data.commune else "Thôn, xã"
    writer.body("4. Theo địa bàn:")
    places = [_place_labels(f, data.commune).value_counts().to_dict()
              for f in (current, data.previous, data.last_year)]
    keys = sorted(set(places[0]) | set(places[1]),
                  key=lambda k: (k == UNKNOWN_AREA, natural_key(str(k))))
    writer.table(_compare_header(first, period),
                 _compare_rows([str(k) for k in keys], {}, *places, known), size=11,
                 first_width_cm=4.2)


def _change_words(current: int, previous: int, than: str = "tháng trước") -> str:
    if previous == 0:
        return f"{than} không có đơn"
    if current == previous:
        return f"bằng {than}"
    word = "tăng" if current > previous else "giảm"
    percent = abs(current - previous) / previous * 100
    return (f"{word} {vn_int(abs(current - previous))} đơn ({format_number(percent, 1)}%) so "
            f"với {than}")


# ---------------------------------------------------------------------- II. handling
def _handled_on_time(row: dict[str, Any], now: datetime) -> bool | None:
    """Return True/False when an alert was (not) taken up within HANDLING_DAYS; None if pending
    and still within the time limit."""
    limit = row["opened_at"] + timedelta(days=HANDLING_DAYS)
    taken = row.get("acked_at") or row.get("resolved_at")
    if taken is not None:
        return taken <= limit
    if row["status"] == "closed":
        return None
    return None if now.replace(tzinfo=None) <= limit else False


def _tracked_cases(writer: _Writer, data: _Data) -> None:
    """Section II.1 from the follow-up recorded on the system."""
    counts = data.cases or {}
    day = data.cases_on or data.period.end
    writer.body(f"1. Giải quyết đơn thư, phản ánh, kiến nghị nhận trong tháng (theo dõi trên hệ "
                f"thống; hạn xử lý tính từ ngày nhận theo loại đơn; số liệu đến ngày "
                f"{day:%d/%m/%Y}):")
    rows = [[label, vn_int(counts.get(key, 0))] for key, label in (
        ("resolved", "Đã giải quyết"), ("answered", "Đã trả lời"),
        ("answered_on_time", "Trong đó: trả lời, giải quyết đúng hạn"),
        ("answered_late", "Trong đó: trả lời, giải quyết trễ hạn"),
        ("in_progress", "Đang xử lý"), ("received", "Mới tiếp nhận, chưa xử lý"),
        ("overdue", "Quá hạn mà chưa trả lời, giải quyết"))]
    rows.append(["Tổng số đơn nhận trong tháng", vn_int(counts.get("total", 0))])
    writer.table(["Kết quả", "Số đơn"], rows, size=12, bold_last=True, first_width_cm=11)


def _handling(writer: _Writer, data: _Data) -> None:
    period = data.period
    writer.heading("II. KẾT QUẢ GIẢI QUYẾT")
    if data.cases is not None:
        _tracked_cases(writer, data)
    else:
        writer.body("1. Giải quyết đơn thư, phản ánh, kiến nghị: đơn vị chưa cập nhật trạng thái "
                    "giải quyết đơn trên hệ thống Tâm tư (mục «Giải quyết đơn»), nên số liệu dưới "
                    "đây do bộ phận tiếp công dân tổng hợp và điền:")
        rows = [[label, FILL] for label in (
            "Đã giải quyết xong", "Đang giải quyết, còn trong hạn", "Quá hạn giải quyết",
            "Chuyển đơn, hướng dẫn đến cơ quan có thẩm quyền",
            "Lưu đơn (không đủ điều kiện xử lý)")]
        table = writer.table(["Kết quả", "Số đơn"], rows, size=12, first_width_cm=11)
        for row in table.rows[1:]:
            cell = row.cells[1]
            cell.paragraphs[0].runs[0].font.highlight_color = _yellow()
    writer.body(f"2. Xử lý cảnh báo điểm nóng (theo dõi trên hệ thống; đúng hạn: được tiếp nhận "
                f"trong {HANDLING_DAYS} ngày kể từ khi cảnh báo phát sinh):")
    if not data.alerts:
        spots = len(data.findings.hotspots)
        writer.body(
            f"Trong tháng {period.label} hệ thống không phát cảnh báo điểm nóng nào"
            + (f", dù mục III nêu {vn_int(spots)} điểm nóng (xác định lại khi lập báo cáo này). "
               "Cảnh báo chỉ được phát khi đơn được nhập kịp thời (đơn nhập muộn quá "
               f"{BACKFILL_DAYS} ngày chỉ còn là số liệu) và có quy tắc cảnh báo phù hợp; "
               "đơn vị cần kiểm tra việc nhập đơn hằng ngày và các quy tắc cảnh báo."
               if spots else "."))
        return
    counts: dict[str, int] = {}
    for row in data.alerts:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    statuses = [*ALERT_STATUS_NAMES, *sorted(set(counts) - set(ALERT_STATUS_NAMES))]
    rows = [[ALERT_STATUS_NAMES.get(s, s), vn_int(counts.get(s, 0))] for s in statuses]
    rows.append(["Tổng số", vn_int(len(data.alerts))])
    writer.table(["Tình trạng", "Số cảnh báo"], rows, size=12, bold_last=True, first_width_cm=11)
    timing = [_handled_on_time(row, data.now) for row in data.alerts]
    writer.body(f"Trong đó: {vn_int(timing.count(True))} cảnh báo được tiếp nhận đúng hạn; "
                f"{vn_int(timing.count(False))} cảnh báo quá hạn (tiếp nhận muộn hoặc quá "
                f"{HANDLING_DAYS} ngày chưa tiếp nhận); {vn_int(timing.count(None))} cảnh báo "
                "còn trong hạn hoặc tự kết thúc.")


def _yellow() -> Any:
    from docx.enum.text import WD_COLOR_INDEX

    return WD_COLOR_INDEX.YELLOW


# ---------------------------------------------------------------------- III. hot spots
def _ids_text(ids: Iterable[int], numbers: dict[int, str | tuple[str, str]]) -> str:
    """Cite petitions by the office's numbers; those of a book without numbers by its rows."""
    ordered = sorted(set(ids))
    own: list[str] = []
    books: dict[str, list[str]] = {}
    for petition in ordered[:_MAX_IDS]:
        number = numbers.get(petition, f"mã hệ thống {petition}")
        if isinstance(number, tuple):
            books.setdefault(number[0], []).append(number[1])
        else:
            own.append(number)
    parts = [", ".join(sorted(own, key=natural_key))] if own else []
    parts += [f"{where} {', '.join(sorted(rows, key=natural_key))}"
              for where, rows in sorted(books.items())]
    more = f" và {vn_int(len(ordered) - _MAX_IDS)} đơn khác" if len(ordered) > _MAX_IDS else ""
    return f"Số đơn: {'; '.join(parts)}{more}."


def _days_text(episode: Episode) -> str:
    start, end = episode.window_start, episode.window_end
    if start == end:
        return f"ngày {start:%d/%m}"
    return f"từ {start:%d/%m} đến {end:%d/%m}"


def _hotspots_section(writer: _Writer, data: _Data, scrub: _Scrubber) -> None:
    period, findings = data.period, data.findings
    writer.heading("III. ĐIỂM NÓNG VÀ CẢNH BÁO TRONG THÁNG")
    names = topic_names()
    writer.body(f"1. Điểm nóng: {vn_int(len(findings.hotspots))} (xét trên từng ngày của tháng).")
    if not findings.hotspots:
        writer.body(f"Trong tháng {period.label} không phát hiện điểm nóng.")
    for n, episode in enumerate(findings.hotspots, start=1):
        spot = episode.strongest
        para = writer.body("")
        writer.run(para, f"1.{n}. {spot.area} – {names.get(spot.topic, spot.topic)}, "
                   f"{_days_text(episode)} (mức độ "
                   f"{SEVERITY_NAMES.get(spot.severity, spot.severity)}): ", bold=True)
        writer.run(para, scrub(spot.explanation) + ". ")
        writer.run(para, _ids_text(episode.petition_ids, data.numbers), italic=True)
    writer.body(f"2. Vấn đề mới nổi: {vn_int(len(findings.emerging))}.")
    if not findings.emerging:
        writer.body(f"Trong tháng {period.label} không phát hiện vấn đề mới nổi.")
    for n, episode in enumerate(findings.emerging, start=1):
        issue = episode.strongest
        kind = ("nhóm đơn giống nhau" if getattr(issue, "kind", "") == "cluster"
                else "cụm từ xuất hiện đột biến")
        para = writer.body("")
        writer.run(para, f"2.{n}. {issue.area} – {kind}, {_days_text(episode)} (mức độ "
                   f"{SEVERITY_NAMES.get(issue.severity, issue.severity)}): ", bold=True)
        writer.run(para, scrub(issue.explanation) + ". ")
        writer.run(para, _ids_text(episode.petition_ids, data.numbers), italic=True)
    writer.body(f"3. Cảnh báo đã phát trong tháng: {vn_int(len(data.alerts))}.")
    if not data.alerts:
        return
    writer.table(
        ["Số", "Địa bàn, lĩnh vực", "Mức độ", "Nội dung cảnh báo", "Tình trạng"],
        [[str(r["id"]), f"{scrub(str(r['area']))}; {names.get(r['topic'], r['topic'])}",
          SEVERITY_NAMES.get(r["severity"], r["severity"]), scrub(str(r["explanation"])),
          ALERT_STATUS_NAMES.get(r["status"], r["status"])] for r in data.alerts],
        size=10, widths_cm=(1.2, 3.6, 1.8, 6.6, 2.8),
    )


# ---------------------------------------------------------------------- IV, V
def _biggest_rise(data: _Data) -> str | None:
    names = topic_names()
    now, last = _topic_counts(data.current), _topic_counts(data.previous)
    rises = sorted(((now.get(t, 0) - last.get(t, 0), t) for t in now), reverse=True)
    if not rises or rises[0][0] <= 0:
        return None
    rise, topic = rises[0]
    return f"lĩnh vực {names.get(topic, topic)} tăng nhiều nhất ({vn_int(rise)} đơn)"


def _assessment(writer: _Writer, data: _Data) -> None:
    writer.heading("IV. ĐÁNH GIÁ")
    total, before = len(data.current), len(data.previous)
    facts = [f"số đơn tiếp nhận {_change_words(total, before)}"]
    if rise := _biggest_rise(data):
        facts.append(rise)
    high = [e for e in data.findings.hotspots if e.severity == "high"]
    facts.append(f"phát hiện {vn_int(len(data.findings.hotspots))} điểm nóng"
                 + (f", trong đó {vn_int(len(high))} ở mức cao" if high else ""))
    writer.body("1. Theo số liệu của hệ thống: " + "; ".join(facts) + ".")
    para = writer.body("2. Nhận xét của đơn vị (ưu điểm; tồn tại, hạn chế; nguyên nhân): ")
    para.alignment = None  # justified, the dotted line to fill would stretch the words
    writer.to_fill(para, "[Đơn vị ghi nhận xét trước khi ký ban hành] " + FILL * 4)


def _next_month(writer: _Writer, data: _Data) -> None:
    writer.heading("V. PHƯƠNG HƯỚNG, NHIỆM VỤ THÁNG TỚI")
    tasks = []
    for episode in data.findings.hotspots[:5]:
        spot = episode.strongest
        tasks.append(f"Tiếp tục theo dõi, nắm tình hình và giải quyết dứt điểm các đơn về "
                     f"{topic_names().get(spot.topic, spot.topic)} tại {spot.area}.")
    pending = [r for r in data.alerts if r["status"] in ("open", "acknowledged")]
    if pending:
        tasks.append(f"Khẩn trương xử lý {vn_int(len(pending))} cảnh báo điểm nóng chưa giải "
                     "quyết xong; cập nhật kết quả trên hệ thống.")
    tasks.append("Tiếp tục tiếp nhận, phân loại, chuyển xử lý kịp thời đơn thư, phản ánh, kiến "
                 "nghị của Nhân dân theo quy định.")
    for n, task in enumerate(tasks, start=1):
        writer.body(f"{n}. {task}")
    para = writer.body(f"{len(tasks) + 1}. Nhiệm vụ khác, đề xuất, kiến nghị: ")
    para.alignment = None
    writer.to_fill(para, "[Đơn vị bổ sung] " + FILL * 4)


# ---------------------------------------------------------------------- closing and annex
def _closing(writer: _Writer, unit: str) -> None:
    writer.paragraph(
        "Báo cáo chỉ nêu số liệu, nhận định và số đơn; không nêu nội dung đơn, họ tên và thông "
        "tin liên hệ của người gửi. Tra cứu đơn theo số đơn trên hệ thống Tâm tư theo phân "
        "quyền.", italic=True, indent=True, align="JUSTIFY", size=12)
    closing = writer.body(f"Trên đây là báo cáo tình hình tiếp nhận, giải quyết đơn thư, phản "
                          f"ánh, kiến nghị của Nhân dân của {unit}./.")
    closing.paragraph_format.keep_with_next = True
    table = _fixed_table(writer, (7.5, 8.5))
    # Nơi nhận and the signature never part across a page: the row does not split.
    table.rows[0]._tr.get_or_add_trPr().append(_xml("w:cantSplit"))
    left, right = table.rows[0].cells
    writer.paragraph("Nơi nhận:", bold=True, italic=True, size=12, cell=left, after=0)
    for line in RECIPIENTS:
        writer.paragraph(f"- {line}", size=11, cell=left, after=0)
    code = _code_of(unit)
    lead = "TM. ỦY BAN NHÂN DÂN" if code == "UBND" else f"TM. {_unit_lines(unit)[0]}"
    signer = "CHỦ TỊCH" if code == "UBND" else "THỦ TRƯỞNG"
    writer.paragraph(lead, bold=True, align="CENTER", cell=right, after=0)
    writer.paragraph(signer, bold=True, align="CENTER", cell=right, after=0)
    writer.paragraph("(Ký, ghi rõ họ tên, đóng dấu)", italic=True, align="CENTER", size=12,
                     cell=right)
    for _ in range(3):
        writer.paragraph(cell=right, after=0)
    name = writer.paragraph(align="CENTER", cell=right)
    writer.to_fill(name, "[Họ và tên người ký]").bold = True
    for cell in (left, right):
        _drop_leading_blank(cell)


def _annex(writer: _Writer, data: _Data, *, new_page: bool) -> None:
    period, current = data.period, data.current
    title = writer.paragraph("PHỤ LỤC", bold=True, align="CENTER", after=0)
    title.paragraph_format.page_break_before = new_page
    writer.paragraph(f"Số đơn theo thôn và lĩnh vực tháng {period.label}", bold=True,
                     align="CENTER", after=0)
    writer.paragraph(f"(Kèm theo Báo cáo số       /BC-{_code_of(data.unit)} của {data.unit})",
                     italic=True, align="CENTER")
    if current.empty:
        writer.body(f"Không có đơn thư, phản ánh nào trong tháng {period.label}.")
        return
    taxonomy = default_taxonomy()
    codes = [*taxonomy.codes, taxonomy.other.code]
    names = topic_names()
    labels = _place_labels(current, data.commune)
    first_column = f"Thôn ({data.commune})" if data.commune else "Thôn, xã"
    # "Thôn 7" and "thôn 7" are one village; show the spelling met most often.
    keys = labels.str.casefold()
    shown = labels.groupby(keys).agg(lambda s: s.value_counts().index[0])
    frame = pd.DataFrame({"key": keys, "topics": current["topics"]}).explode("topics")
    table = pd.crosstab(frame["key"], frame["topics"]).reindex(columns=codes, fill_value=0)
    totals = keys.value_counts()
    unknown = UNKNOWN_AREA.casefold()
    order = sorted(table.index, key=lambda k: (k == unknown, natural_key(str(shown[k]))))
    rows = [[str(shown[k]), *(vn_int(int(table.at[k, c])) for c in codes),
             vn_int(int(totals[k]))] for k in order]
    rows.append(["Cộng", *(vn_int(int(table[c].sum())) for c in codes), vn_int(len(current))])
    writer.paragraph("(Một đơn có thể thuộc nhiều lĩnh vực; cột “Số đơn” đếm mỗi đơn một lần.)",
                     italic=True, align="CENTER", size=12)
    writer.table([first_column, *(names.get(c, c) for c in codes), "Số đơn"], rows, size=9,
                 bold_last=True, first_width_cm=2.9)


# ---------------------------------------------------------------------- PDF
def convert_to_pdf(docx: Path, *, timeout: float = 180) -> Path | None:
    """Return the PDF made next to the DOCX by LibreOffice, or None when it is not installed."""
    program = shutil.which("soffice") or shutil.which("libreoffice")
    if program is None:
        return None
    docx = Path(docx).resolve()
    if not docx.is_file():
        raise ReportError(f"không tìm thấy tệp '{docx}'")
    try:
        result = subprocess.run(
            [program, "--headless", "--convert-to", "pdf", "--outdir", str(docx.parent),
             str(docx)],
            capture_output=True, text=True, timeout=timeout, check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise ReportError(f"LibreOffice không chuyển xong sang PDF sau {timeout:g} giây") \
            from error
    pdf = docx.with_suffix(".pdf")
    if result.returncode != 0 or not pdf.is_file():
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise ReportError("LibreOffice không chuyển được sang PDF"
                          + (f": {detail[-1]}" if detail else ""))
    return pdf
