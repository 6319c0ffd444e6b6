"""Learning from the office: reviewed petitions as training data, and the model's agreement
with them.

A petition reviewed by an officer carries the labels a person stands behind: its topics and
signals after the review (kept as they were when the reviewer accepted the model's choice).
They are added to the training set with a weight (repeated rows), and any corpus text that is
the same text is dropped so that a correction is not outvoted by an older label.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from models.data import LabelledData
from models.evaluate import label_metrics
from pipeline.store.cases import reviewed_petitions
from pipeline.text.classify import TamtuClassifier


@dataclass(frozen=True)
class Reviewed:
    """Reviewed petitions as labelled data, with their ids and the model labels at ingest."""

    data: LabelledData
    ids: list[int]
    model_topics: list[list[str] | None]


def read_reviewed(engine: Engine, *, start: date | None = None, end: date | None = None
                  ) -> Reviewed:
    """Return the petitions reviewed between two days (by review day), oldest review first."""
    rows = reviewed_petitions(engine, start=start, end=end)
    data = LabelledData(texts=[r["text"] for r in rows], labels=[list(r["topics"]) for r in rows],
                        signals=[list(r["signals"] or []) for r in rows],
                        ids=[str(r["id"]) for r in rows])
    return Reviewed(data=data, ids=[int(r["id"]) for r in rows],
                    model_topics=[r["model_topics"] for r in rows])


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def with_corrections(base: LabelledData, reviewed: LabelledData, *, weight: int = 3
                     ) -> LabelledData:
    """Return the base set without texts the office reviewed, plus each reviewed text `weight`
    times (its signals empty where the base set has no signal labels)."""
    if weight < 1:
        raise ValueError("trọng số của đơn đã kiểm tra phải từ 1 trở lên")
    reviewed_keys = {_key(t) for t in reviewed.texts}
    keep = [i for i, t in enumerate(base.texts) if _key(t) not in reviewed_keys]
    texts = [base.texts[i] for i in keep]
    labels = [base.labels[i] for i in keep]
    signals = [base.signals[i] for i in keep] if base.signals is not None else None
    for index, text in enumerate(reviewed.texts):
        for _ in range(weight):
            texts.append(text)
            labels.append(reviewed.labels[index])
            if signals is not None:
                signals.append((reviewed.signals or [[]] * len(reviewed.texts))[index])
    return LabelledData(texts=texts, labels=labels, signals=signals,
                        skipped=base.skipped + len(base.texts) - len(keep))


def agreement(model: TamtuClassifier, reviewed: Reviewed) -> dict[str, Any]:
    """Return how a model's topics agree with the reviewed labels (and, for comparison, how the
    labels given at ingest did)."""
    if not reviewed.ids:
        return {"n": 0}
    predicted = [p.topics for p in model.predict_batch(reviewed.data.texts)]
    gold = reviewed.data.labels
    same = sum(sorted(p) == sorted(g) for p, g in zip(predicted, gold, strict=True))
    at_ingest = [m if m is not None else g for m, g in zip(reviewed.model_topics, gold,
                                                          strict=True)]
    kept = sum(sorted(m) == sorted(g) for m, g in zip(at_ingest, gold, strict=True))
    metrics = label_metrics(gold, predicted)
    return {"n": len(gold), "agreement": same / len(gold), "agreement_at_ingest": kept / len(gold),
            "macro_f1": metrics["macro_f1"], "micro_f1": metrics["micro_f1"],
            "corrected": sum(1 for m in reviewed.model_topics if m is not None),
            "wrong_ids": [i for i, p, g in zip(reviewed.ids, predicted, gold, strict=True)
                          if sorted(p) != sorted(g)]}


def record_corrections(model_path: Path, reviewed: Reviewed, weight: int) -> Path:
    """Write, beside the model, which reviewed petitions it was trained on (its card entry)."""
    digest = hashlib.sha256(json.dumps(reviewed.ids).encode()).hexdigest()
    card = {"corrections": len(reviewed.ids), "weight": weight, "petition_ids": reviewed.ids,
            "corrected_by_reviewer": sum(1 for m in reviewed.model_topics if m is not None),
            "ids_sha256": digest}
    path = model_path.with_name(model_path.stem + ".corrections.json")
    path.write_text(json.dumps(card, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def trained_on(model_path: Path) -> set[int]:
    """Return the ids of the reviewed petitions a model was trained on (none for a model that
    was not trained with corrections)."""
    path = model_path.with_name(model_path.stem + ".corrections.json")
    if not path.is_file():
        return set()
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
        return {int(i) for i in card.get("petition_ids", [])}
    except (OSError, ValueError, TypeError):
        return set()


def without(reviewed: Reviewed, ids: set[int]) -> tuple[Reviewed, int]:
    """Return the reviewed petitions minus `ids`, and how many were left out."""
    keep = [i for i, petition_id in enumerate(reviewed.ids) if petition_id not in ids]
    data = reviewed.data
    kept = LabelledData(texts=[data.texts[i] for i in keep], labels=[data.labels[i] for i in keep],
                        signals=[data.signals[i] for i in keep] if data.signals else None,
                        ids=[data.ids[i] for i in keep] if data.ids else None)
    return (Reviewed(data=kept, ids=[reviewed.ids[i] for i in keep],
                     model_topics=[reviewed.model_topics[i] for i in keep]),
            len(reviewed.ids) - len(keep))
