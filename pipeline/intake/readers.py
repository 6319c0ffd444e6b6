"""Readers for CSV, XLSX, JSONL, DOCX, TXT and folders, yielding records or quarantine rows."""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.config import Settings
from pipeline.intake.dates import DateError, parse_day
from pipeline.intake.labels import LabelError, accepted_names, label_lookup, parse_labels
from pipeline.intake.minutes import looks_like_minutes, split_minutes
from pipeline.intake.normalize import (
    UndecodableError,
    decode_as,
    decode_bytes,
    fix_legacy_encoding,
    fold_diacritics,
)
from pipeline.records import SOURCE_TYPES, QuarantineRow, Record, SkippedFile
from pipeline.taxonomy import default_taxonomy

# Header names seen in office spreadsheets, folded (lower case, no diacritics, single spaces).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "text": (
        "text", "content", "message", "noi dung", "noi dung don", "noi dung phan anh",
        "noi dung kien nghi", "noi dung khieu nai", "noi dung to cao", "tom tat noi dung",
        "noi dung y kien", "y kien", "noi dung vu viec", "tom tat vu viec", "noi dung tin nhan",
    ),
    "received_at": (
        "received_at", "date", "ngay", "ngay nhan", "ngay tiep nhan", "ngay gui", "ngay nhan don",
        "thoi gian", "thoi gian tiep nhan", "ngay thang", "ngay phan anh", "ngay viet don",
    ),
    "area": (
        "area", "address", "location", "dia chi", "dia ban", "noi cu tru", "dia chi nguoi gui",
        "dia chi thuong tru", "noi o", "dia diem",
    ),
    "source_type": (
        "source_type", "type", "loai", "loai don", "phan loai", "phan loai don", "loai van ban",
        "hinh thuc",
    ),
    "external_id": (
        "external_id", "id", "ma", "ma don", "so don", "so hieu", "so ky hieu", "ma ho so",
        "so van ban", "so den",
    ),
    "sender_name": (
        "sender_name", "sender", "name", "ho ten", "ho va ten", "nguoi gui", "nguoi lam don",
        "ten nguoi gui", "nguoi phan anh", "nguoi kien nghi", "cong dan", "ho ten nguoi gui",
    ),
    "sender_contact": (
        "sender_contact", "contact", "phone", "email", "so dien thoai", "sdt", "dien thoai",
        "lien he", "thong tin lien he", "so dt",
    ),
    "topics": (
        "topics", "topic", "linh vuc", "nhom linh vuc", "linh vuc don", "chu de",
    ),
    "channel": (
        "channel", "kenh", "kenh tiep nhan", "nguon", "nguon tiep nhan", "hinh thuc tiep nhan",
    ),
}
# Address parts kept in separate columns are joined into one area, smallest unit first.
AREA_PART_HEADERS: dict[str, str] = {
    "to dan pho": "tổ dân phố", "khu pho": "khu phố", "thon": "thôn", "xom": "xóm",
    "ban": "bản", "ap": "ấp", "lang": "làng", "to": "tổ", "xa": "xã", "phuong": "phường",
    "thi tran": "thị trấn", "xa phuong": "", "huyen": "huyện", "quan": "quận", "tinh": "tỉnh",
    "thanh pho": "thành phố", "tinh thanh pho": "",
}
_HEADER_TO_FIELD: dict[str, str] = {
    alias: name for name, aliases in HEADER_ALIASES.items() for alias in aliases
}

SOURCE_TYPE_WORDS: tuple[tuple[str, str], ...] = (
    ("to cao", "denunciation"),
    ("khieu nai", "complaint"),
    ("kien nghi", "petition"),
    ("de nghi", "petition"),
    ("bien ban", "minutes"),
    ("tiep xuc cu tri", "minutes"),
    ("doi thoai", "minutes"),
    ("mang xa hoi", "social"),
    ("facebook", "social"),
    ("zalo", "social"),
    ("phan anh", "feedback"),
    ("gop y", "feedback"),
    ("duong day nong", "feedback"),
    ("hotline", "feedback"),
)

_WORDY_DATE = re.compile(r"ngay\s*(\d{1,2})\s*thang\s*(\d{1,2})\s*nam\s*(\d{4})")
_EXCEL_EPOCH = date(1899, 12, 30)
_UTF8_BOM = b"\xef\xbb\xbf"
_LEGACY_ENCODINGS = ("cp1258", "tcvn3", "vni")
# Bytes that are not UTF-8 survive CSV parsing as lone surrogates and are decoded row by row.
_ESCAPED_BYTE_RE = re.compile("[\udc80-\udcff]")
_UTF8_MULTIBYTE_RE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]")
_CONTROL_BYTES = bytes([0, *range(0x01, 0x09), *range(0x0E, 0x1A), *range(0x1C, 0x20), 0x7F])
_DIALECT_SAMPLE = 200_000
_PREVIEW_CHARS = 2000
_UNDECODABLE_FILE = (
    "Không đọc được chữ trong tệp: không phải UTF-8, UTF-16, Windows-1258, TCVN3 hay VNI "
    "(có thể tệp bị hỏng hoặc không phải văn bản)"
)
_UNDECODABLE_ROW = (
    "Không đọc được chữ ở dòng này: không phải UTF-8, Windows-1258, TCVN3 hay VNI "
    "(dòng có thể bị hỏng hoặc lưu bằng bảng mã khác); các dòng khác của tệp vẫn được đọc"
)
_NUL_ROW = (
    "Dòng có ký tự NUL (byte 0), dấu hiệu dữ liệu bị hỏng ở dòng này; dòng không được lưu, "
    "các dòng khác của tệp vẫn được đọc"
)


@dataclass(frozen=True)
class ReadLimits:
    """Size limits of one ingest; the defaults are those of Settings (max_file_bytes, ...)."""

    file_bytes: int = Settings.model_fields["max_file_bytes"].default
    cell_chars: int = Settings.model_fields["max_cell_chars"].default
    unpacked_bytes: int = Settings.model_fields["max_unpacked_bytes"].default

    @classmethod
    def from_settings(cls, settings: Settings) -> ReadLimits:
        """Return the limits configured in the settings (environment TAMTU_MAX_...)."""
        return cls(settings.max_file_bytes, settings.max_cell_chars, settings.max_unpacked_bytes)


@dataclass
class _Row:
    """One table row as read: its cells, the legacy encoding it was in, or what is wrong."""

    cells: list[Any]
    legacy: str | None = None
    problem: str | None = None


@dataclass(frozen=True)
class _FileText:
    """A text file's content; ``per_row`` when rows are decoded one by one (mixed encodings)."""

    text: str
    encoding: str
    per_row: bool = False


class _BrokenFile(Exception):
    """An Office file that its library cannot open."""


AREA_PART = "area_part"  # a column joined into the area (thôn, xã…), shown in previews


@dataclass(frozen=True)
class TablePreview:
    """The start of a table as an ingest would read it: one field per column ("" = kept)."""

    columns: list[str]
    fields: list[str]
    rows: list[list[str]]
    total_rows: int


class MappingError(ValueError):
    """A --map option that does not name a record field."""


def fold_header(name: str) -> str:
    """Return a header folded for matching: lower case, no diacritics, single spaces."""
    folded = fold_diacritics(name)
    folded = re.sub(r"\([^)]*\)", " ", folded)
    return " ".join(re.sub(r"[^0-9a-z_]+", " ", folded).split())


def parse_mapping(options: Iterable[str]) -> dict[str, str]:
    """Return {folded column header: field} from "--map column=field" options."""
    mapping: dict[str, str] = {}
    for option in options:
        column, sep, target = option.partition("=")
        target = target.strip()
        if not sep or not column.strip():
            raise MappingError(f"'{option}' không đúng dạng cột=trường (ví dụ: \"Ý kiến=text\")")
        if target not in (*HEADER_ALIASES, "ignore"):
            known = ", ".join(HEADER_ALIASES)
            raise MappingError(f"Trường '{target}' không có; các trường hợp lệ: {known}, ignore")
        mapping[fold_header(column)] = target
    return mapping


def parse_date(value: Any) -> date | None:
    """Return the date in a cell (day first), None when empty; raise DateError otherwise."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _excel_serial(float(value))
    text = str(value).strip()
    if not text:
        return None
    if re.fullmatch(r"\d{5}(?:\.\d+)?", text):
        return _excel_serial(float(text))
    try:
        return parse_day(text)
    except DateError as error:
        # "05/06/2025 (buổi sáng)": the date written first, a note after it.
        head = text.split(maxsplit=1)[0]
        if head == text:
            raise
        try:
            return parse_day(head)
        except DateError:
            raise error from None


def _excel_serial(serial: float) -> date:
    if not 1 <= serial < 2_958_466:
        raise DateError(f"số ngày Excel '{serial:g}' nằm ngoài khoảng hợp lệ")
    return _EXCEL_EPOCH + timedelta(days=int(serial))


def parse_source_type(value: Any, default: str) -> tuple[str, bool]:
    """Return (source type code, recognised) for a cell such as "Đơn khiếu nại"."""
    if value is None or not str(value).strip():
        return default, True
    text = str(value).strip()
    if text in SOURCE_TYPES:
        return text, True
    folded = fold_header(text)
    for words, code in SOURCE_TYPE_WORDS:
        if words in folded:
            return code, True
    return default, False


class Ingestor:
    """Reads files into records; one instance holds the header mapping, defaults and limits."""

    def __init__(
        self,
        *,
        source_type: str | None = None,
        mapping: Mapping[str, str] | None = None,
        limits: ReadLimits | None = None,
    ):
        self.source_type = source_type
        self.mapping = dict(mapping or {})
        self.limits = limits or ReadLimits()
        self._labels: dict[str, str] | None = None

    def labels(self, cell: object) -> tuple[str, ...] | None:
        """Return the topic codes of a labels cell (see pipeline.intake.labels)."""
        if self._labels is None:
            self._labels = label_lookup(default_taxonomy())
        return parse_labels(cell, self._labels)

    # ------------------------------------------------------------------ files and folders
    def read_paths(
        self, paths: Iterable[Path], skipped: list[SkippedFile] | None = None
    ) -> Iterator[Record | QuarantineRow]:
        """Yield records and quarantine rows for files and folders, folders walked in order.

        Files that hold no rows to read (hidden files, Office lock files, broken links, special
        files, hidden folders) are appended to ``skipped`` with the reason instead.
        """
        skipped = [] if skipped is None else skipped
        for path in paths:
            if path.is_dir():
                for child in _walk(path, skipped):
                    yield from self.read_file(child)
            elif (reason := _skip_reason(path, walked=False)) is not None:
                skipped.append(SkippedFile(str(path), reason))
            else:
                yield from self.read_file(path)

    def read_file(self, path: Path) -> Iterator[Record | QuarantineRow]:
        """Yield records and quarantine rows of one file; a broken file is one quarantine row."""
        name = str(path)
        if not path.exists():
            yield QuarantineRow(name, None, "Không tìm thấy tệp")
            return
        suffix = path.suffix.lower()
        readers = {
            ".csv": self._read_csv, ".tsv": self._read_csv, ".xlsx": self._read_xlsx,
            ".jsonl": self._read_jsonl, ".ndjson": self._read_jsonl,
            ".docx": self._read_docx, ".txt": self._read_txt,
        }
        reader = readers.get(suffix)
        if reader is None:
            yield QuarantineRow(
                name, None, f"Không hỗ trợ loại tệp '{suffix or path.name}' "
                "(chỉ đọc CSV, XLSX, JSONL, DOCX, TXT)",
            )
            return
        try:
            size = path.stat().st_size
            if size > self.limits.file_bytes:
                yield QuarantineRow(
                    name, None, f"Tệp nặng {_megabytes(size)}, vượt giới hạn "
                    f"{_megabytes(self.limits.file_bytes)} cho một tệp; hãy chia nhỏ tệp "
                    "(giới hạn đặt bằng TAMTU_MAX_FILE_BYTES)",
                )
                return
            yield from reader(path)
        except UndecodableError:
            yield QuarantineRow(name, None, _UNDECODABLE_FILE)
        except csv.Error as error:
            yield QuarantineRow(name, None, f"Tệp CSV sai cấu trúc, không đọc được ({error})")
        except PermissionError:
            yield QuarantineRow(name, None, "Không có quyền đọc tệp này")
        except (zipfile.BadZipFile, KeyError, OSError, _BrokenFile):
            kind = "XLSX" if suffix == ".xlsx" else "DOCX" if suffix == ".docx" else ""
            yield QuarantineRow(
                name, None, f"Tệp {kind} bị hỏng hoặc không đúng định dạng, không mở được"
                if kind else "Lỗi khi đọc tệp từ đĩa, không đọc được",
            )

    def _unpacked_problem(self, path: Path, kind: str) -> str | None:
        # Only the zip directory is read. zipfile never inflates a member past the size the
        # directory declares (it stops there and then fails the CRC check), so the sum below
        # bounds what openpyxl or python-docx can unpack, whatever the archive claims.
        with zipfile.ZipFile(path) as archive:
            total = sum(info.file_size for info in archive.infolist())
        if total <= self.limits.unpacked_bytes:
            return None
        return (
            f"Tệp {kind} khi giải nén chiếm {_megabytes(total)}, vượt giới hạn "
            f"{_megabytes(self.limits.unpacked_bytes)}; tệp không được mở (tệp quá lớn hoặc "
            "là tệp nén độc hại). Hãy chia nhỏ tệp (giới hạn đặt bằng TAMTU_MAX_UNPACKED_BYTES)"
        )

    # ------------------------------------------------------------------ preview
    def preview_table(self, path: Path, rows: int = 5) -> TablePreview | None:
        """Return the header, the detected field per column and the first rows of a table.

        CSV, TSV and XLSX only (None for other files); the fields are those reading the file
        with this ingestor's mapping would use, so a preview shows what an ingest will store.
        """
        suffix = path.suffix.lower()
        if suffix in (".csv", ".tsv"):
            text = _file_text(path.read_bytes()).text
            csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
            dialect = self._choose_dialect(text, suffix == ".tsv")
            table = [r for r in csv.reader(io.StringIO(text, newline=""), dialect)
                     if any(c.strip() for c in r)]
        elif suffix == ".xlsx":
            table = self._xlsx_table(path)
        else:
            return None
        if not table:
            return TablePreview([], [], [], 0)
        header = [str(c) for c in table[0]]
        body = table[1:]
        fields = self._header_fields(header)
        for i, cell in enumerate(header):
            if not fields[i] and AREA_PART_HEADERS.get(fold_header(cell)) is not None:
                fields[i] = AREA_PART
        return TablePreview(_column_names(header), fields,
                            [["" if c is None else str(c) for c in r] for r in body[:rows]],
                            len(body))

    def _xlsx_table(self, path: Path) -> list[list[Any]]:
        import openpyxl

        if self._unpacked_problem(path, "XLSX") is not None:
            return []
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            values = [list(v) for v in book.worksheets[0].iter_rows(values_only=True)
                      if any(c not in (None, "") for c in v)]
        finally:
            book.close()
        # The header is the first row with a content column, as when reading; else the first.
        for index, row in enumerate(values[:20]):
            if self._header_fields(["" if v is None else str(v) for v in row]).count("text") == 1:
                return values[index:]
        return values

    # ------------------------------------------------------------------ tabular formats
    def _read_csv(self, path: Path) -> Iterator[Record | QuarantineRow]:
        content = _file_text(path.read_bytes())
        # The file size limit bounds every field; cells over the cell limit are quarantined
        # row by row in make_record. csv's own limit is process-wide, so it is only raised.
        csv.field_size_limit(max(csv.field_size_limit(), len(content.text) + 1))
        dialect = self._choose_dialect(content.text, path.suffix.lower() == ".tsv")
        rows = csv.reader(io.StringIO(content.text, newline=""), dialect)
        header = next(rows, None)
        if header is None:
            yield QuarantineRow(str(path), None, "Tệp CSV trống, không có dòng tiêu đề")
            return
        file_legacy = content.encoding if content.encoding in ("tcvn3", "vni") else None
        if content.per_row:
            header = _decode_row(header).cells
        checked = (_decode_row(cells) if content.per_row else _check_row(cells, file_legacy)
                   for cells in rows)
        yield from self._read_rows(path, header, checked, first_row=2)

    def _choose_dialect(self, text: str, tsv: bool) -> type[csv.Dialect] | csv.Dialect:
        """Return the RFC 4180 dialect whose header fits the rows, the sniffed one as fallback.

        Standard quoting (a doubled quote is a quote) is tried with ",", ";" and tab first. The
        sniffer is asked only when none of them gives a header with a content column and rows no
        wider than that header, and its guess is held to the same test.
        """
        sample = text[:_DIALECT_SAMPLE]
        standard: list[type[csv.Dialect] | csv.Dialect] = (
            [csv.excel_tab, csv.excel, _Semicolon] if tsv
            else [csv.excel, _Semicolon, csv.excel_tab]
        )
        for dialect in standard:
            if self._dialect_fits(sample, dialect, len(sample) < len(text)):
                return dialect
        try:
            sniffed = csv.Sniffer().sniff(sample[:20_000], delimiters=",;\t|")
        except csv.Error:
            sniffed = None
        if sniffed is not None and self._dialect_fits(sample, sniffed, len(sample) < len(text)):
            return sniffed
        # No content column whichever way: read it the standard way, so the error lists the
        # columns a person sees in a spreadsheet program.
        return max(standard, key=lambda d: len((_sample_rows(sample, d, False) or [[]])[0]))

    def _dialect_fits(
        self, sample: str, dialect: type[csv.Dialect] | csv.Dialect, truncated: bool
    ) -> bool:
        rows = _sample_rows(sample, dialect, truncated)
        if not rows or "text" not in self._header_fields(rows[0]):
            return False
        width = len(rows[0])
        return all(not any(str(v).strip() for v in row[width:]) for row in rows[1:])

    def _read_xlsx(self, path: Path) -> Iterator[Record | QuarantineRow]:
        import openpyxl

        problem = self._unpacked_problem(path, "XLSX")
        if problem is not None:
            yield QuarantineRow(str(path), None, problem)
            return
        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception:  # openpyxl raises many unrelated types on broken files
            yield QuarantineRow(str(path), None,
                                "Tệp XLSX bị hỏng hoặc không đúng định dạng, không mở được")
            return
        try:
            sheet = book.worksheets[0]
            rows = sheet.iter_rows(values_only=True)
            # Office sheets often carry a title block above the table: find the header row.
            skipped = 0
            for values in rows:
                skipped += 1
                header = ["" if v is None else str(v) for v in values]
                if self._header_fields(header).count("text") == 1:
                    yield from self._read_rows(
                        path, header, (_Row(list(v)) for v in rows), first_row=skipped + 1
                    )
                    return
                if skipped >= 20:
                    break
            yield QuarantineRow(
                str(path), None, "Không tìm thấy cột nội dung trong 20 dòng đầu của bảng tính "
                "(cần cột 'Nội dung' hoặc dùng --map \"tên cột=text\")",
            )
        finally:
            book.close()

    def _header_fields(self, header: Sequence[str]) -> list[str]:
        fields: list[str] = []
        for cell in header:
            folded = fold_header(cell)
            fields.append(self.mapping.get(folded) or _HEADER_TO_FIELD.get(folded) or "")
        return fields

    def _read_rows(
        self,
        path: Path,
        header: list[str],
        rows: Iterable[_Row],
        *,
        first_row: int,
    ) -> Iterator[Record | QuarantineRow]:
        fields = self._header_fields(header)
        area_parts = [
            AREA_PART_HEADERS.get(fold_header(cell)) if not fields[i] else None
            for i, cell in enumerate(header)
        ]
        if "text" not in fields:
            names = ", ".join(h for h in header if h) or "(trống)"
            yield QuarantineRow(
                str(path), None, f"Không có cột nội dung; các cột đang có: {names}. "
                "Hãy đặt tên cột là 'Nội dung' hoặc dùng --map \"tên cột=text\"",
            )
            return
        names = _column_names(header)
        for offset, row in enumerate(rows):
            row_number = first_row + offset
            cells = row.cells
            if not any(v not in (None, "") and str(v).strip() for v in cells):
                continue  # blank spreadsheet rows are layout, not data
            raw = {names[i] if i < len(names) else f"cột {i + 1}": v for i, v in enumerate(cells)}
            if row.problem is not None:
                yield QuarantineRow(str(path), row_number, row.problem, _preview(raw))
                continue
            overflow = [v for v in cells[len(header):] if v not in (None, "") and str(v).strip()]
            if overflow:
                yield QuarantineRow(
                    str(path), row_number, f"Dòng có {len(cells)} ô nhưng dòng tiêu đề chỉ có "
                    f"{len(header)} cột: các ô đã lệch cột (thường do dấu ngoặc kép hoặc dấu "
                    "phân cách trong ô viết sai); dòng không được lưu để tránh ghi sai trường",
                    _preview(raw),
                )
                continue
            data: dict[str, Any] = {}
            parts: list[str] = []
            columns: dict[str, Any] = {}
            for i, value in enumerate(cells[: len(fields)]):
                if fields[i] and fields[i] != "ignore" and fields[i] not in data:
                    data[fields[i]] = value
                elif area_parts[i] is not None:
                    if value not in (None, ""):
                        prefix = area_parts[i]
                        part = str(value).strip()
                        if prefix and not fold_header(part).startswith(fold_header(prefix)):
                            part = f"{prefix} {part}"
                        parts.append(part)
                elif not fields[i] and (kept := _json_cell(value)) is not None:
                    columns[names[i]] = kept
            if parts and not data.get("area"):
                data["area"] = ", ".join(parts)
            yield self.make_record(path, row_number, data, raw, row.legacy, columns=columns)

    def make_record(
        self,
        path: Path,
        row: int | None,
        data: Mapping[str, Any],
        raw: Mapping[str, Any],
        legacy: str | None = None,
        *,
        columns: Mapping[str, Any] | None = None,
    ) -> Record | QuarantineRow:
        """Return a record from mapped field values, or a quarantine row saying what is wrong.

        ``columns`` are the row's cells under headers that map to no field; they are kept in
        ``extra["columns"]``. A cell longer than the cell limit quarantines the row.
        """
        too_long = self._too_long(raw, data)
        if too_long is not None:
            name, size = too_long
            return QuarantineRow(
                str(path), row, f"Ô '{name}' dài {_thousands(size)} ký tự, vượt giới hạn "
                f"{_thousands(self.limits.cell_chars)} ký tự một ô; dòng không được lưu "
                "(giới hạn đặt bằng TAMTU_MAX_CELL_CHARS)", _preview(raw),
            )
        text = "" if data.get("text") is None else str(data["text"]).strip()
        if not text:
            return QuarantineRow(str(path), row, "Dòng không có nội dung", _preview(raw))
        try:
            received = parse_date(data.get("received_at"))
        except DateError as error:
            return QuarantineRow(str(path), row, f"Ngày nhận sai: {error}", _preview(raw))
        try:
            topics = self.labels(data.get("topics"))
        except LabelError as error:
            return QuarantineRow(
                str(path), row, f"Lĩnh vực sai: {error}; dùng mã hoặc tên trong danh mục: "
                f"{accepted_names(default_taxonomy())}", _preview(raw),
            )
        default = self.source_type or "feedback"
        source_type, known = parse_source_type(data.get("source_type"), default)
        extra: dict[str, Any] = {}
        if not known:
            extra["source_type_raw"] = str(data.get("source_type"))
        if legacy:
            extra["file_encoding"] = legacy
        if columns:
            extra["columns"] = dict(columns)
        return Record(
            text=text,
            source_type=source_type,
            received_at=received,
            area=_clean(data.get("area")),
            external_id=_clean(data.get("external_id")),
            sender_name=_clean(data.get("sender_name")),
            sender_contact=_clean(data.get("sender_contact")),
            channel=_clean(data.get("channel")),
            source_file=str(path),
            source_row=row,
            extra=extra,
            topics=topics,
        )

    def _too_long(
        self, raw: Mapping[str, Any], data: Mapping[str, Any]
    ) -> tuple[str, int] | None:
        limit = self.limits.cell_chars
        for name, value in itertools.chain(raw.items(), data.items()):
            if isinstance(value, str):
                size = len(value)
            elif isinstance(value, list | dict):
                size = len(json.dumps(value, ensure_ascii=False, default=str))
            else:
                continue
            if size > limit:
                return ("nội dung" if name == "text" else str(name)), size
        return None

    # ------------------------------------------------------------------ JSON lines
    def _read_jsonl(self, path: Path) -> Iterator[Record | QuarantineRow]:
        content = _file_text(path.read_bytes())
        for number, line in enumerate(content.text.split("\n"), start=1):
            if not line.strip():
                continue
            checked = _decode_row([line]) if content.per_row else _check_row([line], None)
            if checked.problem is not None:
                yield QuarantineRow(str(path), number, checked.problem,
                                    _preview({"dòng": checked.cells[0]}))
                continue
            line = checked.cells[0]
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as error:
                yield QuarantineRow(
                    str(path), number, f"Dòng không phải JSON hợp lệ (lỗi ở ký tự {error.pos + 1})",
                    line[:_PREVIEW_CHARS]
                )
                continue
            if not isinstance(obj, dict):
                yield QuarantineRow(str(path), number, "Dòng JSON không phải một đối tượng",
                                    line[:_PREVIEW_CHARS])
                continue
            header = [str(key) for key in obj]
            fields = self._header_fields(header)
            data = {f: obj[k] for k, f in zip(obj, fields, strict=True) if f and f != "ignore"}
            columns = {k: obj[k] for k, f in zip(obj, fields, strict=True)
                       if not f and obj[k] not in (None, "")}
            yield self.make_record(path, number, data, obj, checked.legacy, columns=columns)

    # ------------------------------------------------------------------ documents
    def _read_docx(self, path: Path) -> Iterator[Record | QuarantineRow]:
        import docx

        problem = self._unpacked_problem(path, "DOCX")
        if problem is not None:
            yield QuarantineRow(str(path), None, problem)
            return
        try:
            document = docx.Document(str(path))
        except Exception as error:  # python-docx raises several unrelated types on bad files
            raise _BrokenFile from error
        paragraphs = [_fix_cell(p.text) for p in document.paragraphs]
        tables = document.tables
        body = "\n".join(paragraphs)
        if looks_like_minutes(body):
            yield from self._minutes(path, body)
            return
        for table in tables:
            grid = [[_fix_cell(cell.text) for cell in row.cells] for row in table.rows]
            if grid and "text" in self._header_fields(grid[0]):
                yield from self._read_rows(
                    path, grid[0], (_Row(list(r)) for r in grid[1:]), first_row=2
                )
                return
        yield from self._whole_document(path, body)

    def _read_txt(self, path: Path) -> Iterator[Record | QuarantineRow]:
        decoded = decode_bytes(path.read_bytes())
        if looks_like_minutes(decoded.text):
            yield from self._minutes(path, decoded.text)
            return
        yield from self._whole_document(path, decoded.text)

    def _whole_document(self, path: Path, body: str) -> Iterator[Record | QuarantineRow]:
        record = self.make_record(
            path, None, {"text": body, "received_at": _document_date(body)}, {"tệp": path.name}
        )
        if isinstance(record, Record):
            record.source_type = self.source_type or _document_source_type(body)
        yield record

    def _minutes(self, path: Path, body: str) -> Iterator[Record | QuarantineRow]:
        minutes = split_minutes(body)
        if not minutes.statements:
            yield QuarantineRow(
                str(path), None, "Biên bản không có ý kiến nào nhận ra được (cần dòng dạng "
                "'Ông/Bà Họ Tên (thôn ...): nội dung')",
            )
            return
        for statement in minutes.statements:
            area = statement.village
            if minutes.place:
                area = f"{area}, {minutes.place}" if area else minutes.place
            yield Record(
                text=statement.text,
                source_type="minutes",
                received_at=minutes.meeting_date,
                area=area,
                sender_name=statement.speaker,
                channel="tiếp xúc cử tri",
                is_response=statement.is_response,
                source_file=str(path),
                source_row=statement.line,
                extra={"meeting": minutes.title} if minutes.title else {},
            )


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    return text or None


def _fix_cell(text: str) -> str:
    # DOCX paragraphs typed in the old .VnTime/VNI fonts arrive as Latin-1 look-alikes.
    return fix_legacy_encoding(text)[0]


def _document_date(body: str) -> str | None:
    match = _WORDY_DATE.search(fold_diacritics(body))
    return match.group(0) if match else None


def _document_source_type(body: str) -> str:
    head = fold_header(body[:600])
    for words, code in SOURCE_TYPE_WORDS:
        if words in head:
            return code
    return "petition" if "kinh gui" in head else "feedback"


class _Semicolon(csv.excel):
    """RFC 4180 quoting with ";" between cells, as Excel writes CSV where "," is the decimal."""

    delimiter = ";"


def _sample_rows(
    sample: str, dialect: type[csv.Dialect] | csv.Dialect, truncated: bool
) -> list[list[str]]:
    try:
        rows = list(csv.reader(io.StringIO(sample, newline=""), dialect))
    except csv.Error:
        return []
    # The last row of a cut sample may be cut inside a quoted cell.
    return rows[:-1] if truncated and len(rows) > 1 else rows


def _walk(folder: Path, skipped: list[SkippedFile]) -> Iterator[Path]:
    """Yield the files to read under a folder, in name order; note what is skipped and why."""
    for root, dirs, files in os.walk(folder):
        base = Path(root)
        for name in sorted(dirs):
            if name.startswith("."):
                skipped.append(SkippedFile(str(base / name), "Thư mục ẩn, không đọc"))
            elif (base / name).is_symlink():
                skipped.append(SkippedFile(
                    str(base / name), "Liên kết tới thư mục khác, không đọc (tránh đọc lặp)"))
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not (base / d).is_symlink())
        for name in sorted(files):
            path = base / name
            reason = _skip_reason(path, walked=True)
            if reason is None:
                yield path
            else:
                skipped.append(SkippedFile(str(path), reason))


def _skip_reason(path: Path, *, walked: bool) -> str | None:
    """Return why a path holds no rows to read, or None for a file to read."""
    if path.is_symlink() and not path.exists():
        return f"Liên kết hỏng: tệp đích '{os.readlink(path)}' không tồn tại"
    if walked and path.name.startswith("~$"):
        return "Tệp khóa tạm của Office (tệp gốc đang mở), không chứa dữ liệu"
    if walked and path.name.startswith("."):
        return "Tệp ẩn, không đọc"
    if path.exists() and not path.is_file():
        return "Không phải tệp thông thường (thiết bị, ống dẫn hoặc socket), không đọc"
    return None


def _looks_binary(data: bytes) -> bool:
    controls = len(data) - len(data.translate(None, _CONTROL_BYTES))
    return controls > max(2, len(data) // 200)


def _file_text(data: bytes) -> _FileText:
    """Return a text file's content, decoded whole or, when its rows differ, row by row.

    A file in one encoding is decoded whole (the most reliable guess). A file with NUL bytes in
    a few rows, or with rows in UTF-8 and others in a legacy encoding, is read as UTF-8 with the
    other bytes kept as escapes; ``_decode_row`` then decodes or rejects each row. A file that
    looks binary raises UndecodableError.
    """
    body = data[len(_UTF8_BOM):] if data.startswith(_UTF8_BOM) else data
    try:
        decoded: Any = decode_bytes(data)
    except UndecodableError:
        decoded = None
    if decoded is not None and not (
        decoded.encoding in _LEGACY_ENCODINGS and _has_utf8_lines(body)
    ):
        return _FileText(decoded.text, decoded.encoding)
    if _looks_binary(body):
        raise UndecodableError("the file looks binary")
    try:
        body.decode("utf-8")
        valid_utf8 = True
    except UnicodeDecodeError:
        valid_utf8 = False
    if not valid_utf8 and not _has_utf8_lines(body):
        # One legacy encoding with a few NUL bytes: choose it on the rest, keep the NULs.
        encoding = decode_bytes(body.replace(b"\x00", b"")).encoding
        return _FileText(decode_as(body, encoding), encoding)
    return _FileText(body.decode("utf-8", "surrogateescape"), "utf-8", per_row=True)


def _has_utf8_lines(body: bytes) -> bool:
    """Return True when some line has non-ASCII bytes that are valid UTF-8."""
    for line in body.split(b"\n"):
        if _UTF8_MULTIBYTE_RE.search(line) is None:
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            continue
        return True
    return False


def _check_row(cells: list[str], legacy: str | None) -> _Row:
    if any("\x00" in cell for cell in cells):
        return _Row(cells, legacy, _NUL_ROW)
    return _Row(cells, legacy)


def _decode_row(cells: list[str]) -> _Row:
    """Decode one row read with escaped non-UTF-8 bytes: UTF-8 as is, else its own encoding."""
    if any("\x00" in cell for cell in cells):
        return _Row([_ESCAPED_BYTE_RE.sub("\ufffd", c) for c in cells], None, _NUL_ROW)
    if not any(_ESCAPED_BYTE_RE.search(cell) for cell in cells):
        return _Row(cells)
    pieces = [cell.encode("utf-8", "surrogateescape") for cell in cells]
    try:
        encoding = decode_bytes(b"\n".join(pieces)).encoding
        decoded = [decode_as(piece, encoding) for piece in pieces]
    except UndecodableError:
        return _Row([_ESCAPED_BYTE_RE.sub("\ufffd", c) for c in cells], None, _UNDECODABLE_ROW)
    return _Row(decoded, encoding if encoding in ("tcvn3", "vni") else None)


def _column_names(header: Sequence[str]) -> list[str]:
    """Return display names for the header cells: unnamed columns by position, no repeats."""
    names: list[str] = []
    for i, cell in enumerate(header):
        name = str(cell).strip() or f"cột {i + 1}"
        while name in names:
            name = f"{name} ({i + 1})"
        names.append(name)
    return names


def _json_cell(value: Any) -> Any:
    """Return a cell as a JSON value for extra["columns"], None when the cell is empty."""
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    text = str(value).strip()
    return text or None


def _preview(raw: Mapping[str, Any]) -> str:
    """Return a quarantine row's raw data, each cell cut to keep the quarantine small."""
    cut = {
        key: value[:_PREVIEW_CHARS] + "…" if isinstance(value, str)
        and len(value) > _PREVIEW_CHARS else value
        for key, value in raw.items()
    }
    return json.dumps(cut, ensure_ascii=False, default=str)


def _megabytes(size: int) -> str:
    return f"{size / 1_048_576:.1f} MB".replace(".", ",")


def _thousands(number: int) -> str:
    return f"{number:,}".replace(",", ".")
