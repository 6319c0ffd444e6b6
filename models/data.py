"""Labelled data readers: any CSV with a text column and a label column, and the corpus JSONL."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from pipeline.intake.normalize import decode_bytes, normalize_text


class LabelledDataError(ValueError):
    """A labelled file that lacks the named columns or holds no usable rows."""


@dataclass
class LabelledData:
    """Texts with their label lists (and signal lists when the file has them)."""

    texts: list[str]
    labels: list[list[str]]
    signals: list[list[str]] | None = None
    ids: list[str] | None = None
    skipped: int = 0


def _split(value: object, sep: str) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    if value is None:
        return []
    return [part.strip() for part in str(value).split(sep) if part.strip()]


def read_labelled(
    path: Path, *, text_col: str = "text", label_col: str = "topics", sep: str = "|",
    signal_col: str = "signals",
) -> LabelledData:
    """Return texts and labels from a CSV or JSONL file; rows without text or label are skipped."""
    if not path.exists():
        raise LabelledDataError(f"không tìm thấy tệp '{path}'")
    raw = decode_bytes(path.read_bytes()).text
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        rows = [json.loads(line) for line in raw.splitlines() if line.strip()]
        columns = set().union(*(row.keys() for row in rows)) if rows else set()
    else:
        reader = csv.DictReader(io.StringIO(raw, newline=""))
        rows = list(reader)
        columns = set(reader.fieldnames or [])
    for name in (text_col, label_col):
        if name not in columns:
            raise LabelledDataError(
                f"tệp '{path.name}' không có cột '{name}'; các cột đang có: "
                f"{', '.join(sorted(columns)) or '(trống)'}"
            )
    data = LabelledData([], [], [] if signal_col in columns else None, [])
    for number, row in enumerate(rows, start=1):
        text = normalize_text(str(row.get(text_col) or "")).text
        labels = _split(row.get(label_col), sep)
        if not text or not labels:
            data.skipped += 1
            continue
        data.texts.append(text)
        data.labels.append(labels)
        if data.signals is not None:
            data.signals.append(_split(row.get(signal_col), sep))
        assert data.ids is not None
        data.ids.append(str(row.get("id", number)))
    if not data.texts:
        raise LabelledDataError(f"tệp '{path.name}' không có dòng nào có cả nội dung và nhãn")
    return data


def read_corpus(directory: Path) -> LabelledData:
    """Return every *.jsonl file of a corpus directory as one labelled set, in file order."""
    files = sorted(directory.glob("*.jsonl"))
    if not files:
        raise LabelledDataError(f"thư mục '{directory}' không có tệp .jsonl nào")
    merged = LabelledData([], [], [], [])
    for file in files:
        part = read_labelled(file)
        merged.texts += part.texts
        merged.labels += part.labels
        merged.signals += part.signals or [[] for _ in part.texts]  # type: ignore[operator]
        merged.ids += part.ids or []  # type: ignore[operator]
        merged.skipped += part.skipped
    return merged
