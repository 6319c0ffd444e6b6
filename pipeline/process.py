"""The work on each text of a batch: one pure function of the records and the loaded resources.

The same function runs in the ingesting process, in a pool of worker processes and on the workers
of a Dask cluster, so a batch gives the same rows wherever it runs. Nothing here touches the
database or the files: the writer (pipeline/run.py) adds the source keys and stores the results.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipeline.intake.normalize import fold_diacritics, normalize_text
from pipeline.records import Record, TopicClassifier
from pipeline.text.compact import file_sha256
from pipeline.text.neardup import signature
from pipeline.text.places import Gazetteer, PlaceMatch, resolve_place
from pipeline.text.signals import SIGNALS, rule_signals
from pipeline.text.terms import day_terms


class RecordError(Exception):
    """A record whose processing failed; the message says why, in the user's words."""


class ResourceError(RuntimeError):
    """A worker could not load the model or the place list it was asked to use."""


@dataclass(frozen=True)
class ResourceSpec:
    """Where a worker finds the model and the place list: small, picklable, a cache key.

    `model_sha256` pins the very model file the ingesting machine uses; a worker on another
    machine whose file differs refuses to start instead of classifying differently.
    """

    model_path: Path | None = None
    gazetteer_dir: Path | None = None
    model_sha256: str | None = None


@dataclass(frozen=True)
class Resources:
    """What the per-text work needs, loaded once per process."""

    classifier: TopicClassifier | None = None
    gazetteer: Gazetteer | None = None


# A petition's fields as the text steps give them (no source key, no run id yet).
Petition = dict[str, Any]
Outcome = Petition | RecordError


def resource_spec(model_path: Path | None, gazetteer_dir: Path | None) -> ResourceSpec:
    """Return the spec of the model and place list as found on this machine (absent → None)."""
    model = model_path if model_path is not None and model_path.exists() else None
    places = gazetteer_dir if gazetteer_dir is not None and gazetteer_dir.is_dir() else None
    return ResourceSpec(model, places, file_sha256(model) if model is not None else None)


def load_resources(spec: ResourceSpec) -> Resources:
    """Return the classifier and gazetteer named by the spec, checking the model's checksum."""
    from pipeline.text.places import load_gazetteer

    classifier = None
    if spec.model_path is not None:
        if not spec.model_path.exists():
            raise ResourceError(f"máy xử lý không có tệp mô hình '{spec.model_path}'")
        if spec.model_sha256 is not None and file_sha256(spec.model_path) != spec.model_sha256:
            raise ResourceError(
                f"tệp mô hình '{spec.model_path}' trên máy xử lý khác với tệp của máy nhập dữ liệu"
            )
        from pipeline.text.compact import ModelLoadError, load_runtime_classifier

        try:
            classifier = load_runtime_classifier(spec.model_path)
        except ModelLoadError as error:
            raise ResourceError(str(error)) from error
    gazetteer = None
    if spec.gazetteer_dir is not None:
        if not spec.gazetteer_dir.is_dir():
            raise ResourceError(f"máy xử lý không có thư mục địa danh '{spec.gazetteer_dir}'")
        gazetteer = load_gazetteer(spec.gazetteer_dir)
    return Resources(classifier, gazetteer)


@lru_cache(maxsize=2)
def worker_resources(spec: ResourceSpec) -> Resources:
    """Return the resources of the spec, loaded on the first call in this process only."""
    return load_resources(spec)


def content_hash(text: str, sender_name: str | None) -> str:
    """Return the exact-duplicate key: normalised text plus the folded sender (empty if none)."""
    sender = " ".join(fold_diacritics(sender_name or "").split())
    return hashlib.sha256(f"{text}\x00{sender}".encode()).hexdigest()


def process_records(records: Sequence[Record], resources: Resources) -> list[Outcome]:
    """Return, for each record in order, its petition fields or the error that stopped it.

    Per text: normalise, place, rule signals; then one classifier call for the whole chunk
    (tokenise + topics + signals), about 40 times cheaper than one call per text.
    """
    outcomes: list[Outcome] = []
    for record in records:
        try:
            outcomes.append(_text_steps(record, resources))
        except Exception as error:  # noqa: BLE001 - one bad record never sinks the chunk
            outcomes.append(RecordError(str(error)))
    # Records whose topics a person gave in the file (labelled history) are not classified.
    unlabelled = [o for o, r in zip(outcomes, records, strict=True)
                  if not isinstance(o, RecordError) and r.topics is None]
    _classify(unlabelled, resources.classifier)
    return outcomes


def process_with_spec(records: Sequence[Record], spec: ResourceSpec) -> list[Outcome]:
    """Return process_records on this process's resources (what pool and Dask workers run)."""
    return process_records(records, worker_resources(spec))


def record_place(record: Record, gazetteer: Gazetteer | None, text: str | None = None
                 ) -> PlaceMatch:
    """Return the place a record is stored under: its area field, else what its text names.

    `text` is the record's normalised text when the caller already has it. Write permissions
    are checked on this very place, so what is checked is what is stored.
    """
    area = normalize_text(record.area).text if record.area else None
    body = text if text is not None else normalize_text(record.text).text
    return resolve_place(area, body, gazetteer)


def _text_steps(record: Record, resources: Resources) -> Petition:
    normalized = normalize_text(record.text)
    if not normalized.text:
        raise ValueError("nội dung chỉ có ký tự trống hoặc ký tự điều khiển")
    text = normalized.text
    place = record_place(record, resources.gazetteer, text)
    petition: Petition = {
        "content_hash": content_hash(text, record.sender_name),
        "text": text,
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
        "topics": list(record.topics or ()),
        "scores": {},
        # The classifier applies the signal rules itself; without one (or for topics given in
        # the file, which are not classified), the rules alone.
        "signals": ([] if resources.classifier is not None and record.topics is None
                    else rule_signals(text)),
        "source_file": record.source_file,
        "source_row": record.source_row,
        "extra": {**record.extra, "labelled": True} if record.topics is not None else record.extra,
        # Pure per-text work for the near-duplicate clusters and term counts (not columns).
        "minhash": signature(text),
        "day_terms": sorted(day_terms(text)),
    }
    return petition


def _classify(petitions: list[Petition], classifier: TopicClassifier | None) -> None:
    if classifier is None or not petitions:
        return
    predictions = classifier.predict_batch([p["text"] for p in petitions])
    for petition, prediction in zip(petitions, predictions, strict=True):
        petition["topics"] = list(prediction.topics)
        petition["scores"] = {k: round(float(v), 4) for k, v in prediction.scores.items()}
        merged = set(petition["signals"]) | set(prediction.signals)
        petition["signals"] = [s for s in SIGNALS if s in merged]
