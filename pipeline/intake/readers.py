"""Readers for CSV, XLSX, JSONL, DOCX, TXT and folders, yielding records or quarantine rows."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.intake.dates import DateError, parse_day
from pipeline.intake.minutes import looks_like_minutes, split_minutes
from pipeline.intake.normalize import (
    UndecodableError,
    decode_bytes,
    fix_legacy_encoding,
    fold_diacritics,
)
from pipeline.records import SOURCE_TYPES, QuarantineRow, Record

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


class _BrokenFile(Exception):
    """An Office file that its library cannot open."""


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
    """Reads files into records; one instance holds the header mapping and the defaults."""

    def __init__(self, *, source_type: str | None = None, mapping: Mapping[str, str] | None = None):
        self.source_type = source_type
        self.mapping = dict(mapping or {})

    # ------------------------------------------------------------------ files and folders
    def read_paths(self, paths: Iterable[Path]) -> Iterator[Record | QuarantineRow]:
        """Yield records and quarantine rows for files and folders, folders walked in order."""
        for path in paths:
            if path.is_dir():
                for child in sorted(p for p in path.rglob("*") if p.is_file()):
                    if child.name.startswith((".", "~$")):
                        continue
                    yield from self.read_file(child)
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
            yield from reader(path)
        except UndecodableError:
            yield QuarantineRow(
                name, None, "Không đọc được chữ trong tệp: không phải UTF-8, UTF-16, "
                "Windows-1258, TCVN3 hay VNI (có thể tệp bị hỏng hoặc không phải văn bản)",
            )
        except (zipfile.BadZipFile, KeyError, OSError, _BrokenFile):
            kind = "XLSX" if suffix == ".xlsx" else "DOCX" if suffix == ".docx" else "tệp"
            yield QuarantineRow(name, None, f"Tệp {kind} bị hỏng hoặc không đúng định dạng, "
                                "không mở được")

    # ------------------------------------------------------------------ tabular formats
    def _read_csv(self, path: Path) -> Iterator[Record | QuarantineRow]:
        decoded = decode_bytes(path.read_bytes())
        text = decoded.text
        encoding_note = decoded.encoding if decoded.encoding in ("tcvn3", "vni") else None
        try:
            dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
                text[:20_000], delimiters=",;\t"
            )
        except csv.Error:
            dialect = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
        rows = csv.reader(io.StringIO(text, newline=""), dialect)
        header = next(rows, None)
        if header is None:
            yield QuarantineRow(str(path), None, "Tệp CSV trống, không có dòng tiêu đề")
            return
        yield from self._read_rows(path, header, rows, first_row=2, legacy=encoding_note)

    def _read_xlsx(self, path: Path) -> Iterator[Record | QuarantineRow]:
        import openpyxl

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
                    yield from self._read_rows(path, header, rows, first_row=skipped + 1)
                    return
                if skipped >= 20:
                    break
            yield QuarantineRow(
                str(path), None, "Không tìm thấy cột nội dung trong 20 dòng đầu của bảng tính "
                "(cần cột 'Nội dung' hoặc dùng --map \"tên cột=text\")",
            )
        finally:
            book.close()

    def _header_fields(self, header: list[str]) -> list[str]:
        fields: list[str] = []
        for cell in header:
            folded = fold_header(cell)
            fields.append(self.mapping.get(folded) or _HEADER_TO_FIELD.get(folded) or "")
        return fields

    def _read_rows(
        self,
        path: Path,
        header: list[str],
        rows: Iterable[Iterable[Any]],
        *,
        first_row: int,
        legacy: str | None = None,
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
        for offset, values in enumerate(rows):
            row_number = first_row + offset
            cells = list(values)
            if not any(v not in (None, "") and str(v).strip() for v in cells):
                continue  # blank spreadsheet rows are layout, not data
            raw = {header[i] if i < len(header) else f"cột {i + 1}": v for i, v in enumerate(cells)}
            data: dict[str, Any] = {}
            parts: list[str] = []
            for i, value in enumerate(cells):
                if i >= len(fields):
                    break
                if fields[i] and fields[i] != "ignore" and fields[i] not in data:
                    data[fields[i]] = value
                elif area_parts[i] is not None and value not in (None, ""):
                    prefix = area_parts[i]
                    part = str(value).strip()
                    if prefix and not fold_header(part).startswith(fold_header(prefix)):
                        part = f"{prefix} {part}"
                    parts.append(part)
            if parts and not data.get("area"):
                data["area"] = ", ".join(parts)
            yield self.make_record(path, row_number, data, raw, legacy)

    def make_record(
        self,
        path: Path,
        row: int | None,
        data: Mapping[str, Any],
        raw: Mapping[str, Any],
        legacy: str | None = None,
    ) -> Record | QuarantineRow:
        """Return a record from mapped field values, or a quarantine row saying what is wrong."""
        raw_text = json.dumps(raw, ensure_ascii=False, default=str)
        text = "" if data.get("text") is None else str(data["text"]).strip()
        if not text:
            return QuarantineRow(str(path), row, "Dòng không có nội dung", raw_text)
        try:
            received = parse_date(data.get("received_at"))
        except DateError as error:
            return QuarantineRow(str(path), row, f"Ngày nhận sai: {error}", raw_text)
        default = self.source_type or "feedback"
        source_type, known = parse_source_type(data.get("source_type"), default)
        extra: dict[str, Any] = {}
        if not known:
            extra["source_type_raw"] = str(data.get("source_type"))
        if legacy:
            extra["file_encoding"] = legacy
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
        )

    # ------------------------------------------------------------------ JSON lines
    def _read_jsonl(self, path: Path) -> Iterator[Record | QuarantineRow]:
        text = decode_bytes(path.read_bytes()).text
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as error:
                yield QuarantineRow(
                    str(path), number, f"Dòng không phải JSON hợp lệ (lỗi ở ký tự {error.pos + 1})",
                    line[:2000]
                )
                continue
            if not isinstance(obj, dict):
                yield QuarantineRow(str(path), number, "Dòng JSON không phải một đối tượng", line)
                continue
            header = list(obj)
            fields = self._header_fields(header)
            data = {f: obj[k] for k, f in zip(header, fields, strict=True) if f and f != "ignore"}
            yield self.make_record(path, number, data, obj)

    # ------------------------------------------------------------------ documents
    def _read_docx(self, path: Path) -> Iterator[Record | QuarantineRow]:
        import docx

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
                yield from self._read_rows(path, grid[0], grid[1:], first_row=2)
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
