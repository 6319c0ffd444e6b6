"""One ingest run: files → records → normalise → classify → place → de-duplicate → store."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipeline.intake.normalize import fold_diacritics, normalize_text
from pipeline.intake.readers import Ingestor
from pipeline.records import QuarantineRow, Record, TopicClassifier, TopicPrediction  # noqa: F401
from pipeline.store import PetitionStore
from pipeline.store.clusters import count_near_duplicates
from pipeline.text.neardup import signature
from pipeline.text.places import Gazetteer, resolve_place
from pipeline.text.signals import SIGNALS, rule_signals
from pipeline.text.terms import day_terms


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
    report_dir: str | None = None
    quarantine_csv: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-ready values."""
        return asdict(self)


ProgressHook = Callable[[int], None]
ErrorHook = Callable[[Record, Exception], str]


def content_hash(text: str, sender_name: str | None) -> str:
    """Return the exact-duplicate key: normalised text plus the folded sender (empty if none)."""
    sender = " ".join(fold_diacritics(sender_name or "").split())
    return hashlib.sha256(f"{text}\x00{sender}".encode()).hexdigest()


def _source_key(file_hash: str, row: int | None, reason: str = "") -> str:
    return hashlib.sha256(f"{file_hash}:{row}:{reason}".encode()).hexdigest()


def _default_on_error(record: Record, error: Exception) -> str:
    return f"Lỗi khi xử lý dòng: {error}"


class IngestRun:
    """Runs records through every step in batches; one bad record never sinks the batch."""

    def __init__(
        self,
        store: PetitionStore,
        *,
        classifier: TopicClassifier | None = None,
        batch_size: int = 500,
        runs_dir: Path = Path("tamtu-runs"),
        on_error: ErrorHook = _default_on_error,
        gazetteer: Gazetteer | None = None,
    ):
        self.store = store
        self.classifier = classifier
        self.batch_size = batch_size
        self.runs_dir = runs_dir
        self.on_error = on_error
        self.gazetteer = gazetteer
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
        return self.ingest_items(
            reader.read_paths(paths), label=[str(p) for p in paths], progress=progress
        )

    def ingest_items(
        self,
        items: Iterable[Record | QuarantineRow],
        *,
        label: Sequence[str] = ("api",),
        progress: ProgressHook | None = None,
    ) -> IngestReport:
        """Store records (and keep quarantine rows) from any source; return the accounting."""
        run_id = self.store.start_run(label)
        report = IngestReport(run_id=run_id)
        quarantined_rows: list[dict[str, Any]] = []
        for batch in _batched(items, self.batch_size):
            self._ingest_batch(batch, report, quarantined_rows)
            if progress is not None:
                progress(len(batch))
        report.near_duplicates = count_near_duplicates(self.store.engine, run_id)
        report.by_source_type = self.store.counts_by("source_type", run_id=run_id)
        report.by_topic = self.store.counts_by_topic(run_id=run_id)
        report.by_area = self.store.counts_by("area", run_id=run_id)
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
        report: IngestReport,
        quarantined_rows: list[dict[str, Any]],
    ) -> None:
        report.read += len(batch)
        prepared: list[dict[str, Any]] = []
        quarantine: list[dict[str, Any]] = []
        for item in batch:
            if isinstance(item, QuarantineRow):
                quarantine.append(self._quarantine_row(item))
                continue
            try:
                prepared.append(self._prepare(item))
            except Exception as error:  # noqa: BLE001 - the on_error hook decides the reason
                row = QuarantineRow(
                    item.source_file, item.source_row, self.on_error(item, error), item.text[:2000]
                )
                quarantine.append(self._quarantine_row(row))
        self._classify(prepared)
        seen_keys = self.store.known_source_keys(
            [p["source_key"] for p in prepared] + [q["source_key"] for q in quarantine]
        )
        known = self.store.known_hashes(p["content_hash"] for p in prepared)
        new_petitions: list[dict[str, Any]] = []
        new_duplicates: list[dict[str, Any]] = []
        batch_hashes: set[str] = set()
        for petition in prepared:
            digest = petition["content_hash"]
            if digest in known or digest in batch_hashes:
                report.duplicates += 1
                if petition["source_key"] in seen_keys:
                    report.already_ingested += 1
                    continue
                seen_keys.add(petition["source_key"])
                new_duplicates.append({
                    "petition_id": known.get(digest),
                    "content_hash": digest,
                    "source_key": petition["source_key"],
                    "source_file": petition["source_file"],
                    "source_row": petition["source_row"],
                    "sender_name": petition["sender_name"],
                    "received_at": petition["received_at"],
                    "run_id": report.run_id,
                })
                continue
            batch_hashes.add(digest)
            report.stored += 1
            new_petitions.append({**petition, "run_id": report.run_id})
        new_quarantine = []
        for row in quarantine:
            report.quarantined += 1
            quarantined_rows.append(row)
            if row["source_key"] not in seen_keys:
                seen_keys.add(row["source_key"])
                new_quarantine.append({**row, "run_id": report.run_id})
        self.store.write_batch(new_petitions, new_duplicates, new_quarantine)

    def _prepare(self, record: Record) -> dict[str, Any]:
        normalized = normalize_text(record.text)
        if not normalized.text:
            raise ValueError("nội dung chỉ có ký tự trống hoặc ký tự điều khiển")
        area = normalize_text(record.area).text if record.area else None
        place = resolve_place(area, normalized.text, self.gazetteer)
        file_hash = self._file_hash(record.source_file)
        return {
            "content_hash": content_hash(normalized.text, record.sender_name),
            "source_key": _source_key(file_hash, record.source_row),
            "text": normalized.text,
            "text_raw": record.text,
            "received_at": record.received_at,
            "area_raw": record.area,
            "area": place.area,
            "village": place.village,
            "commune": place.commune,
            "province": place.province,
            "source_type": record.source_type,
            "external_id": record.external_id,
            "sender_name": record.sender_name,
            "sender_contact": record.sender_contact,
            "channel": record.channel,
            "is_response": record.is_response,
            "no_diacritics": normalized.no_diacritics,
            "legacy_encoding": normalized.legacy_encoding or record.extra.get("file_encoding"),
            "topics": [],
            "scores": {},
            # The classifier applies the signal rules itself; without one, the rules alone.
            "signals": [] if self.classifier is not None else rule_signals(normalized.text),
            "source_file": record.source_file,
            "source_row": record.source_row,
            "extra": record.extra,
            # Pure per-text work for the near-duplicate clusters and term counts (not columns).
            "minhash": signature(normalized.text),
            "day_terms": sorted(day_terms(normalized.text)),
        }

    def _classify(self, prepared: list[dict[str, Any]]) -> None:
        if self.classifier is None or not prepared:
            return
        predictions = self.classifier.predict_batch([p["text"] for p in prepared])
        for petition, prediction in zip(prepared, predictions, strict=True):
            petition["topics"] = list(prediction.topics)
            petition["scores"] = {k: round(float(v), 4) for k, v in prediction.scores.items()}
            merged = set(petition["signals"]) | set(prediction.signals)
            petition["signals"] = [s for s in SIGNALS if s in merged]

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
        run_dir = self.runs_dir / f"run-{report.run_id:05d}"
        run_dir.mkdir(parents=True, exist_ok=True)
        report.report_dir = str(run_dir)
        if quarantined:
            path = run_dir / "quarantine.csv"
            with path.open("w", newline="", encoding="utf-8-sig") as handle:
                writer = csv.writer(handle)
                writer.writerow(["tệp", "dòng", "lý do", "dữ liệu gốc"])
                for row in quarantined:
                    writer.writerow(
                        [row["source_file"], row["source_row"] or "", row["reason"], row["raw"]]
                    )
            report.quarantine_csv = str(path)
        (run_dir / "report.json").write_text(
            json.dumps(report.as_dict(), ensure_ascii=False, indent=2), encoding="utf-8"
        )


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
