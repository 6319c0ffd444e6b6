"""Import in the browser: upload files, preview them, ingest in the background, poll progress.

The same readers, limits and ingest run as `tamtu ingest`; rows whose area lies outside the
officer's areas are quarantined with the reason, never stored and never dropped silently.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from uuid import uuid4

from fastapi import APIRouter, Body, File, HTTPException, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.deps import ClassifierDep, GazetteerDep, SettingsDep, StoreDep
from api.security import Officer, Principal
from pipeline.config import Settings
from pipeline.intake.readers import (
    AREA_PART,
    Ingestor,
    MappingError,
    ReadLimits,
    parse_mapping,
)
from pipeline.records import SOURCE_TYPES, QuarantineRow, Record
from pipeline.run import IngestReport, IngestRun
from pipeline.store import PetitionStore

router = APIRouter(prefix="/imports", tags=["imports"])
logger = logging.getLogger("tamtu.api")

MAX_FILES = 20
PREVIEW_ROWS = 5
UPLOAD_DAYS = 2  # uploads never started are removed after this many days
FIELD_NAMES: dict[str, str] = {
    "text": "Nội dung", "received_at": "Ngày nhận", "area": "Địa bàn",
    "source_type": "Loại đơn", "external_id": "Số hiệu đơn", "sender_name": "Người gửi",
    "sender_contact": "Liên hệ người gửi", "channel": "Kênh tiếp nhận",
    "ignore": "Bỏ qua cột này", AREA_PART: "Ghép vào địa bàn", "": "Giữ làm thông tin thêm",
}
PHASE_NAMES = {"uploaded": "Đã tải lên, chờ bắt đầu", "reading": "Đang đọc tệp",
               "processing": "Đang phân loại và lưu", "done": "Đã xong", "failed": "Bị lỗi"}


class FilePreview(BaseModel):
    """One uploaded file as an ingest would read it."""

    name: str
    size: int
    kind: Literal["table", "document"]
    columns: list[str] = []
    fields: list[str] = []
    rows: list[list[str]] = []
    total_rows: int | None = None
    problem: str | None = None


class ImportPublic(BaseModel):
    """An import: its files, phase, progress and (once done) the accounting."""

    id: str
    phase: str
    phase_name: str
    files: list[FilePreview]
    processed: int = 0
    total: int | None = None
    report: dict[str, Any] | None = None
    alerts: str | None = None
    error: str | None = None
    field_names: dict[str, str] = FIELD_NAMES


class ImportStart(BaseModel):
    """Start an import: per file name, {column: field} for the columns the officer changed."""

    mappings: dict[str, dict[str, str]] = Field(default_factory=dict, max_length=MAX_FILES)
    source_type: str | None = Field(None, max_length=40)


@dataclass
class ImportJob:
    """One upload and its ingest, held in memory by the app (the files live on disk)."""

    id: str
    owner: str
    folder: Path
    files: list[FilePreview]
    created: float = field(default_factory=time.time)
    phase: str = "uploaded"
    processed: int = 0
    total: int | None = None
    report: IngestReport | None = None
    alerts: str | None = None
    error: str | None = None

    def public(self) -> ImportPublic:
        """Return what the officer's browser sees of this import."""
        report = None
        if self.report is not None:
            report = self.report.as_dict()
            # Paths on the server mean nothing to the officer; the file is downloaded instead.
            for key in ("report_dir", "quarantine_csv"):
                report.pop(key, None)
            report["has_quarantine"] = self.report.quarantine_csv is not None
        return ImportPublic(id=self.id, phase=self.phase, phase_name=PHASE_NAMES[self.phase],
                            files=self.files, processed=self.processed, total=self.total,
                            report=report, alerts=self.alerts, error=self.error)


class ImportJobs:
    """The app's imports by id; one lock guards the table, each job is written by one thread."""

    def __init__(self) -> None:
        self._jobs: dict[str, ImportJob] = {}
        self._lock = threading.Lock()

    def add(self, job: ImportJob) -> None:
        """Remember a new import."""
        with self._lock:
            self._jobs[job.id] = job

    def get(self, job_id: str, principal: Principal) -> ImportJob:
        """Return the caller's import (admins see every import); 404 otherwise."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or (job.owner != principal.name and not principal.at_least("admin")):
            raise HTTPException(404, "Không có lượt nhập này (có thể máy chủ đã khởi động lại)")
        return job

    def forget_older_than(self, seconds: float) -> list[ImportJob]:
        """Drop finished or never-started imports older than this; return them."""
        limit = time.time() - seconds
        with self._lock:
            old = [j for j in self._jobs.values() if j.created < limit
                   and j.phase in ("uploaded", "done", "failed")]
            for job in old:
                del self._jobs[job.id]
        return old


def _jobs(request: Request) -> ImportJobs:
    jobs: ImportJobs = request.app.state.imports
    return jobs


def _safe_name(name: str, taken: set[str]) -> str:
    base = re.sub(r"[\x00-\x1f/\\:*?\"<>|]+", "_", Path(name or "tep").name).strip(" .")[:120]
    base = base or "tep"
    candidate, number = base, 2
    while candidate in taken:
        stem, dot, suffix = base.rpartition(".")
        candidate = f"{stem} ({number}).{suffix}" if dot else f"{base} ({number})"
        number += 1
    taken.add(candidate)
    return candidate


def _preview(path: Path, settings: Settings) -> FilePreview:
    ingestor = Ingestor(limits=ReadLimits.from_settings(settings))
    size = path.stat().st_size
    try:
        table = ingestor.preview_table(path, PREVIEW_ROWS)
    except Exception as error:  # noqa: BLE001 - the ingest quarantines the file with its reason
        logger.info("preview failed: %s", type(error).__name__)
        return FilePreview(name=path.name, size=size, kind="table",
                           problem="Không xem trước được tệp này; khi nhập, lý do sẽ có "
                           "trong tệp cách ly")
    if table is None:
        texts = []
        for item in _first(ingestor.read_file(path), PREVIEW_ROWS):
            texts.append([item.text[:300]] if isinstance(item, Record)
                         else [f"Cách ly: {item.reason}"])
        return FilePreview(name=path.name, size=size, kind="document", columns=["Nội dung"],
                           rows=texts)
    problem = None if "text" in table.fields else (
        "Chưa nhận ra cột nội dung: hãy chọn cột nào là “Nội dung” ở dưới")
    return FilePreview(name=path.name, size=size, kind="table", columns=table.columns,
                       fields=table.fields, rows=table.rows, total_rows=table.total_rows,
                       problem=problem)


def _first(items: Iterator[Record | QuarantineRow], count: int) -> list[Record | QuarantineRow]:
    found = []
    for item in items:
        found.append(item)
        if len(found) >= count:
            break
    return found


@router.post("", response_model=ImportPublic, status_code=201,
             summary="Tải tệp lên để nhập (CSV, XLSX, DOCX, TXT); trả về bản xem trước")
def upload(
    request: Request,
    principal: Officer,
    settings: SettingsDep,
    files: Annotated[list[UploadFile], File(description="Một hoặc nhiều tệp", min_length=1)],
) -> ImportPublic:
    """Save the files for one import and return each file's first rows and detected columns."""
    if not files:
        raise HTTPException(422, "Chưa chọn tệp nào")
    if len(files) > MAX_FILES:
        raise HTTPException(413, f"Mỗi lần nhập tối đa {MAX_FILES} tệp")
    jobs = _jobs(request)
    for old in jobs.forget_older_than(UPLOAD_DAYS * 86400):
        shutil.rmtree(old.folder, ignore_errors=True)
    job_id = uuid4().hex
    folder = settings.runs_dir / "uploads" / job_id
    folder.mkdir(parents=True)
    taken: set[str] = set()
    paths = []
    for upload_file in files:
        path = folder / _safe_name(upload_file.filename or "", taken)
        with path.open("wb") as out:
            shutil.copyfileobj(upload_file.file, out)
        paths.append(path)
    job = ImportJob(job_id, principal.name, folder, [_preview(p, settings) for p in paths])
    jobs.add(job)
    return job.public()


@router.get("/{job_id}", response_model=ImportPublic, summary="Tình trạng một lượt nhập")
def status(job_id: str, request: Request, principal: Officer) -> ImportPublic:
    """Return the phase, progress and, once done, the accounting of an import."""
    return _jobs(request).get(job_id, principal).public()


@router.post("/{job_id}/start", response_model=ImportPublic, status_code=202,
             summary="Bắt đầu nhập các tệp đã tải lên, với cách gán cột đã chọn")
def start(
    job_id: str,
    request: Request,
    body: Annotated[ImportStart, Body()],
    principal: Officer,
    settings: SettingsDep,
    store: StoreDep,
    classifier: ClassifierDep,
    gazetteer: GazetteerDep,
) -> ImportPublic:
    """Start the ingest in the background; poll GET /imports/{id} for progress."""
    job = _jobs(request).get(job_id, principal)
    if job.phase != "uploaded":
        raise HTTPException(409, "Lượt nhập này đã bắt đầu rồi")
    if body.source_type is not None and body.source_type not in SOURCE_TYPES:
        raise HTTPException(422, f"loại '{body.source_type}' không có; chọn một trong: "
                            + ", ".join(SOURCE_TYPES))
    names = {f.name for f in job.files}
    unknown = [n for n in body.mappings if n not in names]
    if unknown:
        raise HTTPException(422, f"Không có tệp '{unknown[0]}' trong lượt nhập này")
    mappings: dict[str, dict[str, str]] = {}
    for name, columns in body.mappings.items():
        try:
            mappings[name] = parse_mapping(f"{c}={f}" for c, f in columns.items())
        except MappingError as error:
            raise HTTPException(422, f"{name}: {error}") from error
    job.phase = "reading"
    worker = threading.Thread(
        target=_run, name=f"import-{job_id[:8]}", daemon=True,
        args=(job, mappings, body.source_type, principal, settings, store, classifier, gazetteer),
    )
    worker.start()
    return job.public()


@router.get("/{job_id}/quarantine.csv", summary="Tải tệp cách ly của một lượt nhập",
            responses={200: {"content": {"text/csv": {}}}})
def quarantine(job_id: str, request: Request, principal: Officer) -> Response:
    """Return the rows that were not stored, each with the reason, as CSV."""
    job = _jobs(request).get(job_id, principal)
    if job.report is None or job.report.quarantine_csv is None:
        raise HTTPException(404, "Lượt nhập này không có dòng nào bị cách ly")
    text = Path(job.report.quarantine_csv).read_text(encoding="utf-8-sig")
    # The officer knows the files by their names, not by the server's upload folder.
    text = text.replace(f"{job.folder}/", "")
    return Response("\ufeff" + text, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="cach-ly-{job.id[:8]}.csv"'})


def _outside_scope(item: Record | QuarantineRow, principal: Principal) -> Record | QuarantineRow:
    if isinstance(item, Record) and item.area and not principal.may_see_area(item.area):
        scope = "; ".join(principal.areas or ())
        return QuarantineRow(
            item.source_file, item.source_row,
            f"Địa bàn “{item.area}” nằm ngoài địa bàn phụ trách của tài khoản {principal.name} "
            f"({scope}); dòng không được lưu. Người phụ trách địa bàn đó hoặc quản trị viên "
            "có thể nhập dòng này", item.text[:2000])
    return item


def _run(job: ImportJob, mappings: dict[str, dict[str, str]], source_type: str | None,
         principal: Principal, settings: Settings, store: PetitionStore, classifier: Any,
         gazetteer: Any) -> None:
    try:
        items: list[Record | QuarantineRow] = []
        for preview in job.files:
            ingestor = Ingestor(source_type=source_type, mapping=mappings.get(preview.name),
                                limits=ReadLimits.from_settings(settings))
            items.extend(_outside_scope(i, principal)
                         for i in ingestor.read_file(job.folder / preview.name))
        job.total = len(items)
        job.phase = "processing"
        runner = IngestRun(store, classifier=classifier, batch_size=settings.batch_size,
                           runs_dir=settings.runs_dir, gazetteer=gazetteer)

        def advance(count: int) -> None:
            job.processed += count

        job.report = runner.ingest_items(items, label=[f.name for f in job.files],
                                         progress=advance)
        if job.report.stored:
            job.alerts = _alerts(settings, store, job.report.days)
        job.phase = "done"
    except Exception as error:  # noqa: BLE001 - the officer sees a clear line, the log the type
        logger.error("import failed: %s", type(error).__name__)
        job.error = ("Lượt nhập dừng vì lỗi máy chủ; các đơn đã lưu không bị nhập hai lần "
                     "khi nhập lại")
        job.phase = "failed"
    finally:
        for preview in job.files:
            (job.folder / preview.name).unlink(missing_ok=True)


def _alerts(settings: Settings, store: PetitionStore, days: list[str]) -> str:
    from pipeline.monitor.engine import run_alerts

    try:
        run = run_alerts(settings, store, days=[date.fromisoformat(d) for d in days])
    except Exception as error:  # noqa: BLE001 - stored petitions stay; the next run retries
        logger.warning("alert evaluation after import failed: %s", type(error).__name__)
        return "Chưa xét được cảnh báo sau khi nhập; máy chủ sẽ xét lại ở lần sau"
    return (f"Đã xét cảnh báo đến ngày {run.as_of:%d/%m/%Y}: {len(run.changes)} thay đổi, "
            f"{run.hotspots} điểm nóng")

