"""Classify a JSONL or CSV file line by line into JSONL, in constant memory."""

from __future__ import annotations

import codecs
import csv
import io
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pipeline.intake.normalize import decode_bytes, normalize_text
from pipeline.intake.readers import HEADER_ALIASES, fold_header
from pipeline.records import TopicClassifier

BATCH = 256


class StreamError(ValueError):
    """An input file that cannot be streamed (missing, unknown format, no text column)."""


@dataclass
class StreamCounts:
    """How many lines were written with predictions and how many were kept with an error."""

    written: int = 0
    skipped: int = 0


def _open_text(path: Path) -> IO[str]:
    head = path.open("rb").read(65536)
    if head.startswith(codecs.BOM_UTF8):
        return path.open(encoding="utf-8-sig", newline="")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return path.open(encoding="utf-16", newline="")
    try:
        head.decode("utf-8")
        return path.open(encoding="utf-8", newline="")
    except UnicodeDecodeError as error:
        if error.start > len(head) - 4:  # a character cut by the 64 KiB boundary
            return path.open(encoding="utf-8", newline="")
    # Legacy single-byte files are small office exports: decode them whole.
    return io.StringIO(decode_bytes(path.read_bytes()).text, newline="")


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str]]:
    suffix = path.suffix.lower()
    handle = _open_text(path)
    with handle:
        if suffix in (".jsonl", ".ndjson", ".json"):
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as error:
                    yield number, None, f"dòng không phải JSON hợp lệ (lỗi ở ký tự {error.pos + 1})"
                    continue
                if not isinstance(obj, dict):
                    yield number, None, "dòng JSON không phải một đối tượng"
                    continue
                yield number, obj, ""
        elif suffix in (".csv", ".tsv"):
            reader = csv.DictReader(handle, delimiter="\t" if suffix == ".tsv" else ",")
            column = text_column(reader.fieldnames or [])
            if column is None:
                raise StreamError(
                    f"tệp '{path.name}' không có cột nội dung ('text', 'Nội dung'…); các cột: "
                    f"{', '.join(reader.fieldnames or []) or '(trống)'}"
                )
            for number, row in enumerate(reader, start=2):
                yield number, {**row, "text": row[column]} if column != "text" else dict(row), ""
        else:
            raise StreamError(f"chỉ đọc được .jsonl hoặc .csv, không đọc được '{path.suffix}'")


def text_column(names: Sequence[str]) -> str | None:
    """Return the column holding the text: "text", or a header offices use ("Nội dung"…)."""
    if "text" in names:
        return "text"
    for name in names:
        if fold_header(name) in HEADER_ALIASES["text"]:
            return name
    return None


def classify_stream(
    path: Path,
    output: Path | None,
    classifier: TopicClassifier,
    *,
    progress: Callable[[int], None] | None = None,
) -> StreamCounts:
    """Write every input row as JSON with topics, scores and signals added; return the counts."""
    if not path.exists():
        raise StreamError(f"không tìm thấy tệp '{path}'")
    counts = StreamCounts()
    sink: IO[str] = output.open("w", encoding="utf-8") if output else sys.stdout
    # Rows without text stay in the batch so the output keeps the input order.
    batch: list[tuple[dict[str, Any], str | None]] = []

    def flush() -> None:
        if not batch:
            return
        texts = [text for _, text in batch if text]
        predictions = iter(classifier.predict_batch(texts) if texts else [])
        for row, text in batch:
            if text:
                prediction = next(predictions)
                row["topics"] = list(prediction.topics)
                row["scores"] = {k: round(float(v), 4) for k, v in prediction.scores.items()}
                row["signals"] = list(prediction.signals)
                counts.written += 1
            else:
                counts.skipped += 1
            sink.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        if progress:
            progress(len(batch))
        batch.clear()

    try:
        for number, row, problem in _rows(path):
            text = normalize_text(str(row.get("text") or "")).text if row else ""
            if row is None or not text:
                kept = row if row is not None else {}
                kept.update({"line": number, "error": problem or "dòng không có nội dung 'text'"})
                batch.append((kept, None))
            else:
                batch.append((row, text))
            if len(batch) >= BATCH:
                flush()
        flush()
    finally:
        if output:
            sink.close()
    return counts
