"""The shipped classifier as plain arrays: loaded with numpy alone, in a fraction of a second.

Loading the skops file imports most of scikit-learn (about 2 seconds of a 5-second
`tamtu classify`). What prediction needs is small: per feature block the hashing size and the
idf weights, per label the linear weights, intercept and sigmoid calibration, then the label
thresholds. `export_arrays` takes them from a fitted multi-label TamtuClassifier and
`save_compact` writes them next to the skops file (`topic_model.npz`) with the SHA-256 of that
file; `load_runtime_classifier` uses them only when that checksum matches, and reads them with
`allow_pickle=False`, so the file holds numbers and text, never code. Features are computed as
scikit-learn's HashingVectorizer (MurmurHash3, no alternating sign) and TfidfTransformer
(sublinear tf, idf, l2 norm) compute them; tests check the predictions equal the skops model's.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import mmh3
import numpy as np

from pipeline.records import TopicClassifier
from pipeline.text.features import (
    ModelLoadError,
    Prediction,
    folded_syllable_analyzer,
    word_analyzer,
)
from pipeline.text.signals import SIGNALS, rule_signals

FORMAT = "tamtu-compact-1"
ANALYZERS: dict[str, Callable[[str], list[str]]] = {
    "word_analyzer": word_analyzer,
    "folded_syllable_analyzer": folded_syllable_analyzer,
}


class CompactModelError(ValueError):
    """A model that cannot be written or read as plain arrays."""


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of a file's bytes, read in 1 MiB pieces."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for piece in iter(lambda: handle.read(1 << 20), b""):
            digest.update(piece)
    return digest.hexdigest()


def compact_path(skops_path: Path) -> Path:
    """Return where the compact copy of a skops model file lives."""
    return skops_path.with_suffix(".npz")


# ---------------------------------------------------------------------- export (needs sklearn)
def _export_topic_model(model: Any, prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    if not model.multilabel_:
        raise CompactModelError("chỉ mô hình nhiều nhãn mới ghi được dạng gọn")
    blocks = []
    for i, (_name, pipe) in enumerate(model.features_.transformer_list):
        hashing, tfidf = pipe.steps[0][1], pipe.steps[1][1]
        analyzer = getattr(hashing.analyzer, "__name__", "")
        if (analyzer not in ANALYZERS or hashing.alternate_sign or hashing.norm is not None
                or hashing.binary or not tfidf.sublinear_tf or not tfidf.use_idf
                or tfidf.norm != "l2"):
            raise CompactModelError("đặc trưng của mô hình không ghi được dạng gọn")
        arrays[f"{prefix}idf{i}"] = np.asarray(tfidf.idf_, dtype=np.float64)
        blocks.append({"analyzer": analyzer, "n_features": int(hashing.n_features)})
    coefs, intercepts, slopes, offsets = [], [], [], []
    for estimator in model.classifier_.estimators_:
        (calibrated,) = estimator.calibrated_classifiers_
        (sigmoid,) = calibrated.calibrators
        coefs.append(np.asarray(calibrated.estimator.coef_, dtype=np.float64).ravel())
        intercepts.append(float(np.ravel(calibrated.estimator.intercept_)[0]))
        slopes.append(float(sigmoid.a_))
        offsets.append(float(sigmoid.b_))
    coef = np.vstack(coefs)
    columns = np.flatnonzero(np.any(coef != 0, axis=0)).astype(np.int64)
    arrays[f"{prefix}columns"] = columns
    arrays[f"{prefix}coef"] = coef[:, columns]
    arrays[f"{prefix}calibration"] = np.array([intercepts, slopes, offsets], dtype=np.float64)
    return {"blocks": blocks, "labels": list(model.labels_), "none_label": model.none_label,
            "thresholds": [float(model.thresholds_[label]) for label in model.labels_],
            "relative_floor": float(getattr(model, "relative_floor_", 0.0))}


def save_compact(model: Any, skops_path: Path) -> Path:
    """Write the compact copy of a fitted TamtuClassifier saved at `skops_path`; return it."""
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {"format": FORMAT, "source_sha256": file_sha256(skops_path),
                            "topic": _export_topic_model(model.topic_model, "topic_", arrays)}
    if model.signal_model is not None:
        meta["signal"] = _export_topic_model(model.signal_model, "signal_", arrays)
    arrays["meta"] = np.array(json.dumps(meta, ensure_ascii=False))
    target = compact_path(skops_path)
    with target.open("wb") as handle:
        np.savez_compressed(handle, **arrays)
    return target


# ---------------------------------------------------------------------- runtime (numpy only)
class _LinearLabels:
    """One multi-label model: hashed tf-idf features, linear scores, sigmoid calibration."""

    def __init__(self, meta: dict[str, Any], arrays: Any, prefix: str):
        self.labels: list[str] = [str(x) for x in meta["labels"]]
        self.none_label = str(meta["none_label"])
        self.thresholds = np.asarray(meta["thresholds"], dtype=np.float64)
        self.relative_floor = float(meta["relative_floor"])
        self.blocks = []
        offset = 0
        for i, block in enumerate(meta["blocks"]):
            analyzer = ANALYZERS.get(str(block["analyzer"]))
            if analyzer is None:
                raise CompactModelError(f"bộ tách đặc trưng '{block['analyzer']}' không có")
            size = int(block["n_features"])
            self.blocks.append((analyzer, size, arrays[f"{prefix}idf{i}"], offset))
            offset += size
        columns = arrays[f"{prefix}columns"]
        self.coef = arrays[f"{prefix}coef"]  # labels × columns (sorted feature numbers)
        self.columns = np.asarray(columns, dtype=np.int64)
        self.intercept, self.slope, self.offset = arrays[f"{prefix}calibration"]
        if self.coef.shape != (len(self.labels), len(self.columns)) or not len(self.columns):
            raise CompactModelError("số nhãn và số hàng trọng số không khớp")

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Return the calibrated probability of every label (columns) for each text (rows)."""
        scores = np.tile(self.intercept, (len(texts), 1))
        for analyzer, size, idf, offset in self.blocks:
            rows: list[int] = []
            indices: list[int] = []
            counts: list[int] = []
            for row, text in enumerate(texts):
                found = Counter(_index(term, size) for term in analyzer(text))
                rows += [row] * len(found)
                indices += found.keys()
                counts += found.values()
            if not rows:
                continue
            at = np.asarray(rows)
            index = np.asarray(indices, dtype=np.int64)
            values = (np.log(np.asarray(counts, dtype=np.float64)) + 1.0) * idf[index]
            norms = np.sqrt(np.bincount(at, weights=values * values, minlength=len(texts)))
            values /= norms[at]
            # Only features with a weight for some label move a score.
            wanted = index + offset
            position = np.minimum(np.searchsorted(self.columns, wanted), len(self.columns) - 1)
            used = self.columns[position] == wanted
            at, position, values = at[used], position[used], values[used]
            for label in range(len(self.labels)):
                scores[:, label] += np.bincount(
                    at, weights=values * self.coef[label, position], minlength=len(texts))
        return 1.0 / (1.0 + np.exp(self.slope * scores + self.offset))

    def choose(self, probabilities: np.ndarray) -> list[str]:
        """Return the labels above their thresholds and near the best one (or none_label)."""
        floor = self.relative_floor * probabilities.max()
        kept = (probabilities >= self.thresholds) & (probabilities >= floor)
        return [label for label, keep in zip(self.labels, kept, strict=True) if keep] or [
            self.none_label]


def _index(term: str, size: int) -> int:
    # scikit-learn's HashingVectorizer: signed MurmurHash3 of the UTF-8 bytes, |h| mod size,
    # with |-2**31| taken as 2**31.
    h = mmh3.hash(term.encode("utf-8"), 0, signed=True)
    return (2**31 % size) if h == -(2**31) else abs(h) % size


class CompactClassifier:
    """The shipped classifier read from plain arrays; `predict_batch` as TamtuClassifier's."""

    def __init__(self, topic: _LinearLabels, signal: _LinearLabels | None):
        self.topic = topic
        self.signal = signal

    def predict_batch(self, texts: Sequence[str]) -> list[Prediction]:
        """Return topics, scores and signals for each normalised text."""
        texts = list(texts)
        if not texts:
            return []
        topic_probabilities = self.topic.probabilities(texts)
        signal_probabilities = (self.signal.probabilities(texts) if self.signal is not None
                                else None)
        index = {label: i for i, label in enumerate(self.topic.labels)}
        results = []
        for row, text in enumerate(texts):
            probabilities = topic_probabilities[row]
            topics = self.topic.choose(probabilities)
            found = set(rule_signals(text))
            if signal_probabilities is not None and self.signal is not None:
                found |= set(self.signal.choose(signal_probabilities[row]))
            picked = [probabilities[index[t]] for t in topics if t in index]
            confidence = float(min(picked)) if picked else float(1.0 - probabilities.max())
            results.append(Prediction(
                topics=topics,
                scores={label: round(float(p), 4)
                        for label, p in zip(self.topic.labels, probabilities, strict=True)},
                signals=[s for s in SIGNALS if s in found],
                confidence=round(confidence, 4),
            ))
        return results


def load_compact(skops_path: Path) -> CompactClassifier | None:
    """Return the compact copy of a skops model; None when absent, damaged or made from
    another file (the caller then loads the skops file)."""
    path = compact_path(skops_path)
    if not path.is_file() or not skops_path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("format") != FORMAT or meta.get("source_sha256") != file_sha256(skops_path):
                return None
            arrays = {key: data[key] for key in data.files}
        topic = _LinearLabels(meta["topic"], arrays, "topic_")
        signal = _LinearLabels(meta["signal"], arrays, "signal_") if "signal" in meta else None
    except (OSError, ValueError, KeyError, TypeError):
        # Damaged, or holding objects (never unpickled): the skops file is used instead.
        return None
    return CompactClassifier(topic, signal)


def load_runtime_classifier(path: Path) -> TopicClassifier:
    """Return the classifier of a skops model file: its compact copy when it matches the file,
    else the skops file itself (scikit-learn loaded); raise ModelLoadError when unusable."""
    if not path.exists():
        raise ModelLoadError(f"không tìm thấy tệp mô hình '{path}'")
    compact = load_compact(path)
    if compact is not None:
        return compact
    from pipeline.text.classify import load_classifier

    return load_classifier(path)
