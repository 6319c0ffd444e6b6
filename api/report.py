"""The monthly report (báo cáo tháng) on citizens' petitions as a DOCX, optionally a PDF.

The layout follows the usual Vietnamese administrative report: the two-column header (issuing
body and number on the left, national motto and place/date on the right), the title, four
sections (I. petitions received by topic and source type with a chart; II. hot spots and
emerging issues of the month; III. alerts; IV. an annex table village × topic), then the
recipients ("Nơi nhận") and the signature block.

Personal data never enter the document: only counts, detector explanations and petition ids.
Explanations are built from counts and places, but an emerging cluster quotes one sentence of
a petition, so every explanation is passed through the personal-data redactor and stripped of
the month's sender names before it is written.
"""

from __future__ import annotations

import calendar
import io
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.monitor.common import SEVERITIES, SEVERITY_NAMES, format_number
from pipeline.monitor.emerging import EmergingIssue, detect_emerging
from pipeline.monitor.engine import HISTORY_DAYS, WINDOW_DAYS, load_frame
from pipeline.monitor.hotspots import Hotspot, detect_hotspots
from pipeline.monitor.trends import area_labels, topic_trends
from pipeline.records import SOURCE_TYPE_NAMES
from pipeline.store import AlertStore, PetitionStore
from pipeline.taxonomy import default_taxonomy, topic_names
from pipeline.text.redact import find_pii, redact
from pipeline.text.signals import SIGNALS, UNKNOWN_AREA

FONT = "Times New Roman"
CHART_FONT = "DejaVu Sans"  # ships with matplotlib and has every Vietnamese glyph
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
_UNIT_WORDS = r"(?:xã|phường|thị trấn|đặc khu|huyện|quận|thị xã|thành phố|tỉnh)"
_LEADING_TITLE = re.compile(
    r"^(?:cử tri|ông bà|ông|bà|anh|chị|cô|chú|bác|cụ|em|cháu)\s+", re.IGNORECASE
)
_MAX_IDS = 15


class ReportError(ValueError):
    """A report was asked with a bad month or could not be converted."""


@dataclass(frozen=True)
class _Month:
    start: date
    end: date

    @property
    def label(self) -> str:
        return f"{self.start:%m/%Y}"

    @property
    def previous(self) -> _Month:
        return _month_of((self.start - timedelta(days=1)).strftime("%Y-%m"))


def _month_of(month: str) -> _Month:
    match = re.fullmatch(r"(\d{4})-(\d{2})", month.strip()) if isinstance(month, str) else None
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ReportError(f"tháng '{month}' không đúng dạng YYYY-MM (ví dụ 2025-06)")
    year, number = int(match.group(1)), int(match.group(2))
    return _Month(date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1]))


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
@dataclass(frozen=True)
class _Findings:
    hotspots: list[Hotspot]
    emerging: list[EmergingIssue]


def _area_mask(frame: pd.DataFrame, area: str) -> pd.Series:
    wanted = area.strip().casefold()
    mask = pd.Series(False, index=frame.index)
    for column in ("area", "village", "commune", "province"):
        values = frame[column].str.casefold().str.contains(wanted, regex=False)
        mask |= values.fillna(False).astype(bool)
    return mask


def _detection_days(month: _Month) -> list[date]:
    """Return the ends of the 7-day windows that tile the month, the month's end last."""
    days = [month.start + timedelta(days=d) for d in range(WINDOW_DAYS - 1, 31, WINDOW_DAYS)]
    days = [d for d in days if d < month.end]
    return [*days, month.end]


def _stronger(a: Any, b: Any) -> bool:
    return (SEVERITIES.index(a.severity), a.count) > (SEVERITIES.index(b.severity), b.count)


def _findings(history: pd.DataFrame, month: _Month, area_ids: set[int] | None) -> _Findings:
    spots: dict[tuple[str, str], Hotspot] = {}
    issues: dict[tuple[str, str], EmergingIssue] = {}
    for day in _detection_days(month):
        for spot in detect_hotspots(history, day, window_days=WINDOW_DAYS,
                                    history_days=HISTORY_DAYS):
            if area_ids is not None and not area_ids.intersection(spot.petition_ids):
                continue
            key = (spot.area.casefold(), spot.topic)
            if key not in spots or _stronger(spot, spots[key]):
                spots[key] = spot
        for issue in detect_emerging(history, day, window_days=WINDOW_DAYS,
                                     history_days=HISTORY_DAYS):
            if area_ids is not None and not area_ids.intersection(issue.petition_ids):
                continue
            key = (issue.area.casefold(), issue.label.casefold())
            if key not in issues or _stronger(issue, issues[key]):
                issues[key] = issue

    def order(item: Any) -> tuple[Any, ...]:
        return (-SEVERITIES.index(item.severity), item.window_end, -item.count)

    return _Findings(sorted(spots.values(), key=order), sorted(issues.values(), key=order))


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


def _topic_counts(frame: pd.DataFrame, month: _Month) -> tuple[dict[str, int], dict[str, int]]:
    """Return {topic: count} of the month and of the month before (multi-label counts)."""
    trends = topic_trends(frame, period="month", level="all")
    current: dict[str, int] = {}
    previous: dict[str, int] = {}
    for row in trends.itertuples():
        if row.period_start == month.start:
            current[str(row.topic)] = int(row.count)
        elif row.period_start == month.previous.start:
            previous[str(row.topic)] = int(row.count)
    return current, previous


def _in_month(frame: pd.DataFrame, month: _Month) -> pd.DataFrame:
    received = frame["received_at"]
    return frame[(received >= pd.Timestamp(month.start)) & (received <= pd.Timestamp(month.end))]


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


def _default_unit(frame: pd.DataFrame) -> str:
    commune = _main_commune(frame)
    return f"Ủy ban nhân dân {commune}" if commune else "Ủy ban nhân dân"


class _Writer:
    """Thin helpers over python-docx with the fonts and spacing of an administrative text."""

    def __init__(self) -> None:
        from docx import Document
        from docx.oxml.ns import qn
        from docx.shared import Cm, Pt

        self.Pt = Pt
        self.doc = Document()
        self.doc.core_properties.author = "Tâm tư"
        self.doc.core_properties.comments = ""
        section = self.doc.sections[0]
        section.page_height, section.page_width = Cm(29.7), Cm(21.0)
        section.top_margin, section.bottom_margin = Cm(2), Cm(2)
        section.left_margin, section.right_margin = Cm(3), Cm(2)
        style = self.doc.styles["Normal"]
        style.font.name = FONT
        style.font.size = Pt(13)
        # East-Asian font slot too, or Word falls back to another face for some glyphs.
        style.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
        style.paragraph_format.space_after = Pt(4)

    def paragraph(self, text: str = "", *, bold: bool = False, italic: bool = False,
                  align: str | None = None, size: float | None = None, cell: Any = None,
                  indent: bool = False) -> Any:
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Cm

        target = cell if cell is not None else self.doc
        para = target.add_paragraph()
        if align is not None:
            para.alignment = getattr(WD_ALIGN_PARAGRAPH, align)
        if indent:
            para.paragraph_format.first_line_indent = Cm(1)
        if text:
            run = para.add_run(text)
            run.bold, run.italic = bold, italic
            if size is not None:
                run.font.size = self.Pt(size)
        return para

    def heading(self, text: str) -> None:
        para = self.paragraph(text, bold=True)
        para.paragraph_format.space_before = self.Pt(8)
        para.paragraph_format.keep_with_next = True

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]], *,
              size: float = 11, bold_last: bool = False) -> Any:
        from docx.enum.text import WD_ALIGN_PARAGRAPH

        table = self.doc.add_table(rows=1 + len(rows), cols=len(header))
        table.style = "Table Grid"
        for r, values in enumerate([list(header), *[list(v) for v in rows]]):
            for c, value in enumerate(values):
                cell = table.cell(r, c)
                para = cell.paragraphs[0]
                run = para.add_run(value)
                run.font.size = self.Pt(size)
                run.bold = r == 0 or (bold_last and r == len(rows))
                para.paragraph_format.space_after = self.Pt(0)
                if r == 0:
                    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
                elif c > 0:
                    para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
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
) -> Path:
    """Return the path of the monthly DOCX report written for `month` ("YYYY-MM").

    `area` limits the report to petitions whose area, village, commune or province contains it
    (case-insensitive), e.g. "Vĩnh Giang". `unit_name` is the issuing body ("Ủy ban nhân dân xã
    Vĩnh Giang"); by default it is read from the data when they hold a single commune.
    `report_date` fills the "ngày … tháng … năm …" line; left blank for the signer otherwise.
    Hot spots and emerging issues are detected at the end of each 7-day window tiling the month
    and at its last day, de-duplicated by area and topic (area and label for emerging issues).
    """
    period = _month_of(month)
    if area is not None and not area.strip():
        raise ReportError("địa bàn (area) không được để trống")
    history = load_frame(store, end=period.end)
    if area is not None:
        scope = history[_area_mask(history, area)]
        area_ids: set[int] | None = set(int(i) for i in scope["id"])
    else:
        scope, area_ids = history, None
    recent = scope[scope["received_at"] >= pd.Timestamp(period.previous.start)]
    current = _in_month(recent, period)
    unit = unit_name or _default_unit(current if len(current) else scope)
    scrub = _Scrubber(current["sender_name"])
    findings = _findings(history, period, area_ids) if len(current) else _Findings([], [])
    alerts = _month_alerts(AlertStore(store.engine), period, area, area_ids)

    writer = _Writer()
    _header(writer, unit, report_date)
    _title(writer, period, unit, area)
    _overview(writer, recent, current, period)
    _hotspots_section(writer, findings, period, scrub)
    _alerts_section(writer, alerts, period, scrub)
    _annex(writer, current, period)
    _closing(writer, unit, period)

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer.doc.save(str(out))
    return out


def _header(writer: _Writer, unit: str, report_date: date | None) -> None:
    from docx.shared import Cm

    table = writer.doc.add_table(rows=1, cols=2)
    table.autofit = False
    left, right = table.rows[0].cells
    left.width, right.width = Cm(6.5), Cm(9.5)
    lines = _unit_lines(unit)
    for index, line in enumerate(lines):
        para = writer.paragraph(line, bold=index == len(lines) - 1, align="CENTER", size=13,
                                cell=left)
        para.paragraph_format.space_after = writer.Pt(0)
    writer.paragraph("Số:       /BC-" + _code_of(unit), align="CENTER", size=13, cell=left)
    writer.paragraph("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True, align="CENTER", size=12,
                     cell=right).paragraph_format.space_after = writer.Pt(0)
    writer.paragraph("Độc lập - Tự do - Hạnh phúc", bold=True, align="CENTER", size=13,
                     cell=right)
    place = _place_of(unit) or "……………"
    when = (f"ngày {report_date.day} tháng {report_date.month} năm {report_date.year}"
            if report_date else "ngày …… tháng …… năm ……")
    writer.paragraph(f"{place}, {when}", italic=True, align="CENTER", size=13, cell=right)
    # python-docx starts each cell with an empty paragraph; drop it so the lines sit at the top.
    for cell in (left, right):
        first = cell.paragraphs[0]
        if not first.text:
            first._element.getparent().remove(first._element)


def _title(writer: _Writer, period: _Month, unit: str, area: str | None) -> None:
    writer.paragraph()
    writer.paragraph("BÁO CÁO", bold=True, align="CENTER", size=14).paragraph_format \
        .space_after = writer.Pt(0)
    writer.paragraph("Tình hình đơn thư, phản ánh, kiến nghị của Nhân dân tháng "
                     f"{period.label}", bold=True, align="CENTER")
    writer.paragraph("―――――", align="CENTER", size=8)
    scope = f" trên địa bàn {area.strip()}" if area else ""
    writer.paragraph(
        f"{unit[0].upper() + unit[1:]} báo cáo tình hình tiếp nhận đơn thư, phản ánh, kiến nghị "
        f"của Nhân dân{scope} trong tháng {period.label} (từ ngày {period.start:%d/%m/%Y} đến "
        f"ngày {period.end:%d/%m/%Y}) như sau:", indent=True, align="JUSTIFY",
    )


def _overview(writer: _Writer, recent: pd.DataFrame, current: pd.DataFrame,
              period: _Month) -> None:
    writer.heading("I. TÌNH HÌNH TIẾP NHẬN ĐƠN THƯ, PHẢN ÁNH, KIẾN NGHỊ")
    previous = _in_month(recent, period.previous)
    total, before = len(current), len(previous)
    if total == 0:
        writer.paragraph(
            f"Trong tháng {period.label}, không tiếp nhận đơn thư, phản ánh, kiến nghị nào "
            f"(tháng {period.previous.label}: {vn_int(before)} đơn). Không có số liệu để tổng "
            "hợp theo lĩnh vực, loại đơn và địa bàn.", indent=True, align="JUSTIFY")
        return
    writer.paragraph(
        f"1. Tổng số đơn thư, phản ánh, kiến nghị tiếp nhận trong tháng: {vn_int(total)} đơn "
        f"(tháng {period.previous.label}: {vn_int(before)} đơn; "
        f"{_change_words(total, before)}).", indent=True, align="JUSTIFY")
    flagged = [f"{vn_int(n)} {SIGNAL_PHRASES[s]}" for s in SIGNALS
               if (n := int(current["signals"].map(lambda codes, s=s: s in codes).sum()))]
    if flagged:
        writer.paragraph("Trong đó: " + "; ".join(flagged) + ".", indent=True, align="JUSTIFY")

    names = topic_names()
    taxonomy = default_taxonomy()
    codes = [*taxonomy.codes, taxonomy.other.code]
    now, last = _topic_counts(recent, period)
    writer.paragraph("2. Theo lĩnh vực (một đơn có thể thuộc nhiều lĩnh vực nên tổng theo lĩnh "
                     "vực có thể lớn hơn tổng số đơn):", indent=True, align="JUSTIFY")
    rows = [[names.get(c, c), vn_int(now.get(c, 0)), vn_int(last.get(c, 0)),
             vn_change(now.get(c, 0), last.get(c, 0))] for c in codes]
    writer.table(["Lĩnh vực", f"Tháng {period.label}", f"Tháng {period.previous.label}",
                  "Tăng/giảm"], rows)
    from docx.shared import Cm

    chart = _topic_chart([names.get(c, c) for c in codes], [now.get(c, 0) for c in codes],
                         [last.get(c, 0) for c in codes], period)
    writer.paragraph(align="CENTER").add_run().add_picture(io.BytesIO(chart), width=Cm(15.5))
    writer.paragraph(f"Biểu đồ 1. Số đơn theo lĩnh vực, tháng {period.label} so với tháng "
                     f"{period.previous.label}", italic=True, align="CENTER", size=11)

    writer.paragraph("3. Theo loại đơn, nguồn tiếp nhận:", indent=True)
    now_src = current["source_type"].value_counts().to_dict()
    last_src = previous["source_type"].value_counts().to_dict()
    sources = [s for s in SOURCE_TYPE_NAMES if s in now_src or s in last_src]
    sources += sorted((set(now_src) | set(last_src)) - set(sources))
    rows = [[SOURCE_TYPE_NAMES.get(s, s), vn_int(int(now_src.get(s, 0))),
             vn_int(int(last_src.get(s, 0))),
             vn_change(int(now_src.get(s, 0)), int(last_src.get(s, 0)))] for s in sources]
    rows.append(["Tổng số", vn_int(total), vn_int(before), vn_change(total, before)])
    writer.table(["Loại đơn", f"Tháng {period.label}", f"Tháng {period.previous.label}",
                  "Tăng/giảm"], rows, bold_last=True)


def _change_words(current: int, previous: int) -> str:
    if previous == 0:
        return "tháng trước không có đơn"
    if current == previous:
        return "không thay đổi so với tháng trước"
    word = "tăng" if current > previous else "giảm"
    percent = abs(current - previous) / previous * 100
    return f"{word} {vn_int(abs(current - previous))} đơn, tương ứng {format_number(percent, 1)}%"


def _ids_text(ids: Sequence[int]) -> str:
    shown = ", ".join(str(i) for i in list(ids)[:_MAX_IDS])
    more = f" và {vn_int(len(ids) - _MAX_IDS)} đơn khác" if len(ids) > _MAX_IDS else ""
    return f"Số hiệu đơn: {shown}{more}."


def _hotspots_section(writer: _Writer, findings: _Findings, period: _Month,
                      scrub: _Scrubber) -> None:
    writer.heading("II. ĐIỂM NÓNG VÀ VẤN ĐỀ MỚI NỔI TRONG THÁNG")
    names = topic_names()
    writer.paragraph(f"1. Điểm nóng: {vn_int(len(findings.hotspots))}.", indent=True)
    if not findings.hotspots:
        writer.paragraph(f"Trong tháng {period.label} không phát hiện điểm nóng.", indent=True)
    for n, spot in enumerate(findings.hotspots, start=1):
        para = writer.paragraph(indent=True, align="JUSTIFY")
        para.add_run(f"1.{n}. {spot.area} – {names.get(spot.topic, spot.topic)} (mức độ "
                     f"{SEVERITY_NAMES.get(spot.severity, spot.severity)}): ").bold = True
        para.add_run(scrub(spot.explanation) + ". ")
        para.add_run(_ids_text(spot.petition_ids)).italic = True
    writer.paragraph(f"2. Vấn đề mới nổi: {vn_int(len(findings.emerging))}.", indent=True)
    if not findings.emerging:
        writer.paragraph(f"Trong tháng {period.label} không phát hiện vấn đề mới nổi.",
                         indent=True)
    for n, issue in enumerate(findings.emerging, start=1):
        kind = "nhóm đơn giống nhau" if issue.kind == "cluster" else "cụm từ xuất hiện đột biến"
        para = writer.paragraph(indent=True, align="JUSTIFY")
        para.add_run(f"2.{n}. {issue.area} – {kind} (mức độ "
                     f"{SEVERITY_NAMES.get(issue.severity, issue.severity)}): ").bold = True
        para.add_run(scrub(issue.explanation) + ". ")
        para.add_run(_ids_text(issue.petition_ids)).italic = True


def _alerts_section(writer: _Writer, alerts: list[dict[str, Any]], period: _Month,
                    scrub: _Scrubber) -> None:
    writer.heading("III. TÌNH HÌNH XỬ LÝ CẢNH BÁO")
    if not alerts:
        writer.paragraph(f"Trong tháng {period.label} không có cảnh báo điểm nóng nào.",
                         indent=True)
        return
    writer.paragraph(f"Trong tháng có {vn_int(len(alerts))} cảnh báo điểm nóng; tình trạng xử "
                     "lý đến thời điểm lập báo cáo:", indent=True, align="JUSTIFY")
    counts: dict[str, int] = {}
    for row in alerts:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    statuses = [*ALERT_STATUS_NAMES, *sorted(set(counts) - set(ALERT_STATUS_NAMES))]
    rows = [[ALERT_STATUS_NAMES.get(s, s), vn_int(counts.get(s, 0))] for s in statuses]
    rows.append(["Tổng số", vn_int(len(alerts))])
    writer.table(["Tình trạng", "Số cảnh báo"], rows, bold_last=True)
    names = topic_names()
    writer.paragraph("Danh sách cảnh báo:", indent=True)
    writer.table(
        ["Số", "Địa bàn", "Lĩnh vực", "Mức độ", "Tình trạng"],
        [[str(r["id"]), scrub(str(r["area"])), names.get(r["topic"], r["topic"]),
          SEVERITY_NAMES.get(r["severity"], r["severity"]),
          ALERT_STATUS_NAMES.get(r["status"], r["status"])] for r in alerts],
        size=10,
    )


def _annex(writer: _Writer, current: pd.DataFrame, period: _Month) -> None:
    writer.heading(f"IV. PHỤ LỤC: SỐ ĐƠN THEO THÔN VÀ LĨNH VỰC THÁNG {period.label}")
    if current.empty:
        writer.paragraph(f"Không có đơn thư, phản ánh nào trong tháng {period.label}.",
                         indent=True)
        return
    taxonomy = default_taxonomy()
    codes = [*taxonomy.codes, taxonomy.other.code]
    names = topic_names()
    commune = _main_commune(current)
    if commune is not None:
        # One commune: the village alone is the row, whether or not the commune was written.
        village = current["village"].str.strip()
        labels = village.where(village.notna() & (village != ""), UNKNOWN_AREA).astype("string")
        first_column = f"Thôn ({commune})"
    else:
        labels = area_labels(current, "village")
        first_column = "Thôn, xã"
    # "Thôn 7" and "thôn 7" are one village; show the spelling met most often.
    keys = labels.str.casefold()
    shown = labels.groupby(keys).agg(lambda s: s.value_counts().index[0])
    data = pd.DataFrame({"key": keys, "topics": current["topics"]}).explode("topics")
    table = pd.crosstab(data["key"], data["topics"]).reindex(columns=codes, fill_value=0)
    totals = keys.value_counts()
    unknown = UNKNOWN_AREA.casefold()
    order = sorted(table.index, key=lambda k: (k == unknown, shown[k].casefold()))
    rows = [[shown[k], *(vn_int(int(table.at[k, c])) for c in codes), vn_int(int(totals[k]))]
            for k in order]
    rows.append(["Cộng", *(vn_int(int(table[c].sum())) for c in codes), vn_int(len(current))])
    writer.paragraph("Số đơn theo lĩnh vực (một đơn có thể thuộc nhiều lĩnh vực; cột “Số đơn” "
                     "đếm mỗi đơn một lần):", indent=True, align="JUSTIFY", size=12)
    writer.table([first_column, *(names.get(c, c) for c in codes), "Số đơn"], rows, size=8,
                 bold_last=True)


def _closing(writer: _Writer, unit: str, period: _Month) -> None:
    writer.paragraph(
        "Báo cáo chỉ nêu số liệu, nhận định và số hiệu đơn; không nêu nội dung đơn, họ tên và "
        "thông tin liên hệ của người gửi. Tra cứu đơn theo số hiệu trên hệ thống Tâm tư theo "
        "phân quyền.", italic=True, indent=True, align="JUSTIFY", size=12)
    place = _unit_lines(unit)[-1]
    writer.paragraph(f"Trên đây là báo cáo tình hình đơn thư, phản ánh, kiến nghị của Nhân dân "
                     f"tháng {period.label} của {unit}./.", indent=True, align="JUSTIFY")
    from docx.shared import Cm

    table = writer.doc.add_table(rows=1, cols=2)
    left, right = table.rows[0].cells
    left.width, right.width = Cm(7.5), Cm(8.5)
    writer.paragraph("Nơi nhận:", bold=True, italic=True, size=12, cell=left) \
        .paragraph_format.space_after = writer.Pt(0)
    for line in RECIPIENTS:
        writer.paragraph(f"- {line}", size=11, cell=left).paragraph_format.space_after = \
            writer.Pt(0)
    lead = "TM. ỦY BAN NHÂN DÂN" if _code_of(unit) == "UBND" else f"TM. {place}"
    signer = "CHỦ TỊCH" if _code_of(unit) == "UBND" else "THỦ TRƯỞNG ĐƠN VỊ"
    writer.paragraph(lead, bold=True, align="CENTER", cell=right) \
        .paragraph_format.space_after = writer.Pt(0)
    writer.paragraph(signer, bold=True, align="CENTER", cell=right)
    writer.paragraph("(Ký, ghi rõ họ tên, đóng dấu)", italic=True, align="CENTER", size=11,
                     cell=right)
    for cell in (left, right):
        first = cell.paragraphs[0]
        if not first.text:
            first._element.getparent().remove(first._element)


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
