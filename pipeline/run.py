"""One ingest run: files → records → normalise → classify → place → de-duplicate → store."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from pipeline.executors import ChunkExecutor, InProcess
from pipeline.intake.readers import Ingestor
from pipeline.process import Outcome, RecordError, Resources, content_hash  # noqa: F401
from pipeline.records import (  # noqa: F401
    QuarantineRow,
    Record,
    SkippedFile,
    TopicClassifier,
    TopicPrediction,
)
from pipeline.store import PetitionStore
from pipeline.store.clusters import count_near_duplicates
from pipeline.store.petitions import ConcurrentWriteError
from pipeline.text.places import Gazetteer


@dataclass
class IngestReport:
    """The accounting of one run: read = stored + duplicates + quarantined.

    `near_duplicates` are stored rows (counted inside `stored`), shown apart.
    """

    run_id: int
    read: int = 0
    stored: int = 0
    near_duplicates: int = 0  # stored petitions that joined an earlier near-duplicate cluster
    duplicates: int = 0
    quarantined: int = 0
    already_ingested: int = 0
    by_source_type: dict[str, int] = field(default_factory=dict)
    by_topic: dict[str, int] = field(default_factory=dict)
    by_area: dict[str, int] = field(default_factory=dict)
    # Columns that map to no field, kept in each petition's extra["columns"]: name -> rows.
    extra_columns: dict[str, int] = field(default_factory=dict)
    # Files not read at all (broken links, hidden or lock files), with the reason; not rows.
    skipped_files: list[dict[str, str]] = field(default_factory=list)
    # Received dates (ISO) of the petitions stored by this run: alerts are evaluated on them.
    days: list[str] = field(default_factory=list)
    report_dir: str | None = None
    quarantine_csv: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-ready values."""
        return asdict(self)


@dataclass
class _BatchPlan:
    """One batch sorted against the store: rows to insert and how the rest was counted."""

    petitions: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    duplicate_count: int = 0
    already_ingested: int = 0


WRITE_ATTEMPTS = 5
ProgressHook = Callable[[int], None]
ErrorHook = Callable[[Record, Exception], str]


def _source_key(file_hash: str, row: int | None, reason: str = "") -> str:
    return hashlib.sha256(f"{file_hash}:{row}:{reason}".encode()).hexdigest()


def _default_on_error(record: Record, error: Exception) -> str:
    return f"Lỗi khi xử lý dòng: {error}"


class IngestRun:
    """Runs records through every step in batches; one bad record never sinks the batch.

    The per-text work runs on the executor (in process by default, or a process pool, or a Dask
    cluster); this object is the one writer: accounting, duplicates, quarantine and storage.
    """

    def __init__(
        self,
        store: PetitionStore,
        *,
        classifier: TopicClassifier | None = None,
        batch_size: int = 500,
        runs_dir: Path = Path("tamtu-runs"),
        on_error: ErrorHook = _default_on_error,
        gazetteer: Gazetteer | None = None,
        executor: ChunkExecutor | None = None,
    ):
        self.store = store
        self.classifier = classifier
        self.batch_size = batch_size
        self.runs_dir = runs_dir
        self.on_error = on_error
        self.gazetteer = gazetteer
        self.executor = executor or InProcess(Resources(classifier, gazetteer))
        self._file_hashes: dict[str, str] = {}

    def ingest_paths(
        self,
        paths: Sequence[Path],
        *,
        ingestor: Ingestor | None = None,
        progress: ProgressHook | None = None,
    ) -> IngestReport:
        """Read files and folders and store what they hold; return the run's accounting."""
        reader = ingestor or Ingestor()
        skipped: list[SkippedFile] = []
        return self.ingest_items(
            reader.read_paths(paths, skipped), label=[str(p) for p in paths], progress=progress,
            skipped=skipped,
        )

    def ingest_items(
        self,
        items: Iterable[Record | QuarantineRow],
        *,
        label: Sequence[str] = ("api",),
        progress: ProgressHook | None = None,
        skipped: Sequence[SkippedFile] = (),
    ) -> IngestReport:
        """Store records (and keep quarantine rows) from any source; return the accounting.

        ``skipped`` is read once the items are exhausted: a reader may fill it as it goes.
        """
        # A run killed earlier stays "running" until someone looks: this ingest does.
        self.store.fail_abandoned_runs()
        run_id = self.store.start_run(label)
        try:
            return self._ingest_run(run_id, items, progress, skipped)
        except BaseException as error:
            # Only the kind of error: its message may quote a petition. Marking the run may
            # fail too (a full disk): the first error is the one that matters.
            with contextlib.suppress(Exception):
                self.store.fail_run(run_id, f"dừng vì lỗi {type(error).__name__}")
            raise

    def _ingest_run(
        self,
        run_id: int,
        items: Iterable[Record | QuarantineRow],
        progress: ProgressHook | None,
        skipped: Sequence[SkippedFile],
    ) -> IngestReport:
        report = IngestReport(run_id=run_id)
        quarantined_rows: list[dict[str, Any]] = []
        # The executor reads ahead by a few chunks; their batches wait here in the same order.
        waiting: deque[list[Record | QuarantineRow]] = deque()

        def record_chunks() -> Iterator[list[Record]]:
            for batch in _batched(items, self.batch_size):
                waiting.append(batch)
                yield [item for item in batch if isinstance(item, Record)]

        for outcomes in self.executor.map_chunks(record_chunks()):
            batch = waiting.popleft()
            self._ingest_batch(batch, outcomes, report, quarantined_rows)
            if progress is not None:
                progress(len(batch))
        report.near_duplicates = count_near_duplicates(self.store.engine, run_id)
        report.by_source_type = self.store.counts_by("source_type", run_id=run_id)
        report.by_topic = self.store.counts_by_topic(run_id=run_id)
        report.by_area = self.store.counts_by("area", run_id=run_id)
        report.skipped_files = [{"path": s.path, "reason": s.reason} for s in skipped]
        self._write_report(report, quarantined_rows)
        self.store.finish_run(
            run_id,
            {k: getattr(report, k) for k in ("read", "stored", "duplicates", "quarantined")},
            report.report_dir,
        )
        return report

    # ------------------------------------------------------------------ one batch
    def _ingest_batch(
        self,
        batch: list[Record | QuarantineRow],
        outcomes: list[Outcome],
        report: IngestReport,
        quarantined_rows: list[dict[str, Any]],
    ) -> None:
        report.read += len(batch)
        prepared: list[dict[str, Any]] = []
        quarantine: list[dict[str, Any]] = []
        results = iter(outcomes)
        for item in batch:
            if isinstance(item, QuarantineRow):
                quarantine.append(self._quarantine_row(item))
                continue
            for column in item.extra.get("columns", ()):
                report.extra_columns[column] = report.extra_columns.get(column, 0) + 1
            outcome = next(results)
            if isinstance(outcome, RecordError):
                row = QuarantineRow(item.source_file, item.source_row,
                                    self.on_error(item, outcome), item.text[:2000])
                quarantine.append(self._quarantine_row(row))
                continue
            key = _source_key(self._file_hash(item.source_file), item.source_row)
            prepared.append({**outcome, "source_key": key})
        # Another ingest of the same file may store the same rows between our look-up and our
        # write: the write then fails whole and the batch is sorted again against what is there.
        for attempt in range(WRITE_ATTEMPTS):
            plan = self._plan_batch(prepared, quarantine, report.run_id)
            try:
                self.store.write_batch(plan.petitions, plan.duplicates, plan.quarantine)
                break
            except ConcurrentWriteError:
                if attempt == WRITE_ATTEMPTS - 1:
                    raise
        report.stored += len(plan.petitions)
        report.duplicates += plan.duplicate_count
        report.already_ingested += plan.already_ingested
        report.quarantined += len(quarantine)
        quarantined_rows.extend(quarantine)
        days = {p["received_at"].isoformat() for p in plan.petitions if p.get("received_at")}
        report.days = sorted(days.union(report.days))

    def _plan_batch(
        self, prepared: list[dict[str, Any]], quarantine: list[dict[str, Any]], run_id: int
    ) -> _BatchPlan:
        """Return what of a batch is new, a duplicate, or stored already, against the store."""
        plan = _BatchPlan()
        seen_keys = self.store.known_source_keys(
            [p["source_key"] for p in prepared] + [q["source_key"] for q in quarantine]
        )
        known = self.store.known_hashes(p["content_hash"] for p in prepared)
        batch_hashes: set[str] = set()
        for petition in prepared:
            digest = petition["content_hash"]
            if digest in known or digest in batch_hashes:
                plan.duplicate_count += 1
                if petition["source_key"] in seen_keys:
                    plan.already_ingested += 1
                    continue
                seen_keys.add(petition["source_key"])
                plan.duplicates.append({
                    "petition_id": known.get(digest),
                    "content_hash": digest,
                    "source_key": petition["source_key"],
                    "source_file": petition["source_file"],
                    "source_row": petition["source_row"],
                    "sender_name": petition["sender_name"],
                    "received_at": petition["received_at"],
                    "run_id": run_id,
                })
                continue
            batch_hashes.add(digest)
            plan.petitions.append({**petition, "run_id": run_id})
        for row in quarantine:
            if row["source_key"] not in seen_keys:
                seen_keys.add(row["source_key"])
                plan.quarantine.append({**row, "run_id": run_id})
        return plan

    def _quarantine_row(self, row: QuarantineRow) -> dict[str, Any]:
        file_hash = self._file_hash(row.source_file)
        return {
            "source_key": _source_key(file_hash, row.source_row, row.reason),
            "source_file": row.source_file,
            "source_row": row.source_row,
            "reason": row.reason,
            "raw": row.raw,
        }

    def _file_hash(self, source_file: str) -> str:
        cached = self._file_hashes.get(source_file)
        if cached is None:
            path = Path(source_file)
            digest = hashlib.sha256()
            if path.is_file():
                with path.open("rb") as handle:
                    for chunk in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(chunk)
            else:
                digest.update(source_file.encode())
            cached = self._file_hashes[source_file] = digest.hexdigest()
        return cached

    def _write_report(self, report: IngestReport, quarantined: list[dict[str, Any]]) -> None:
        # Quarantined rows are petitions as they came (senders, phones) and file names may name
        # a sender: the run's folder and files are for the account that ran it only.
        run_dir = self.runs_dir / f"run-{report.run_id:05d}"
        run_dir.mkdir(parents=True, exist_ok=True)
        run_dir.chmod(0o700)
        report.report_dir = str(run_dir)
        if quarantined:
            path = run_dir / "quarantine.csv"
            with _private_file(path, newline="", encoding="utf-8-sig") as handle:
                writer = csv.writer(handle)
                writer.writerow(["tệp", "dòng", "lý do", "dữ liệu gốc"])
                for row in quarantined:
                    writer.writerow(
                        [row["source_file"], row["source_row"] or "", row["reason"], row["raw"]]
                    )
            report.quarantine_csv = str(path)
        with _private_file(run_dir / "report.json", encoding="utf-8") as handle:
            handle.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))


def _private_file(path: Path, **options: Any) -> IO[str]:
    """Open a file for writing (emptied), readable and writable by its owner only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    return open(descriptor, "w", **options)  # noqa: SIM115 - the caller closes it


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
