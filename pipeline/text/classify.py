"""Topic and signal classification: the runtime estimator classes and safe model loading."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.model_selection import KFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import LabelBinarizer, MultiLabelBinarizer
from sklearn.svm import LinearSVC

from pipeline.text.features import (  # noqa: F401  (the stored model names these here)
    TEENCODE,
    ModelLoadError,
    Prediction,
    expand_teencode,
    folded_syllable_analyzer,
    word_analyzer,
)
from pipeline.text.selection import choose_settings
from pipeline.text.signals import SIGNALS, rule_signals

OTHER = "other"
# Calibration uses 3 inner folds inside each of the threshold-tuning folds.
MIN_EXAMPLES_PER_LABEL = 8
# Columns of each hashed view (words, folded syllables).
HASHED_COLUMNS = 2**18


def build_features(*, light: bool = False, chars: bool = False) -> FeatureUnion:
    """Return the feature extractor: word tokens and diacritic-folded syllables.

    Character n-grams were dropped: they halved the speed and did not help (cross-validation
    0.847 → 0.851 micro-F1, stranger set 0.842 → 0.865 without them; tried again on folded text
    with chat shorthand expanded: 0.843 → 0.852 and 0.840 → 0.868 without them).

    Hashed features keep the model file small and fast to load (no vocabulary to store);
    `light` keeps only the folded syllables (used for the signal model); `chars` adds character
    n-grams within words (1–4 characters, with a stored vocabulary) after the hashed columns,
    which single-label models keep only when cross-validation on their training data says so.
    """
    syllables = ("syllables", make_pipeline(
        HashingVectorizer(analyzer=folded_syllable_analyzer, n_features=HASHED_COLUMNS,
                          alternate_sign=False, norm=None),
        TfidfTransformer(sublinear_tf=True),
    ))
    if light:
        return FeatureUnion([syllables])
    parts: list[tuple[str, Any]] = [
        ("words", make_pipeline(
            HashingVectorizer(analyzer=word_analyzer, n_features=HASHED_COLUMNS,
                              alternate_sign=False, norm=None),
            TfidfTransformer(sublinear_tf=True),
        )),
        syllables,
    ]
    if chars:
        parts.append(("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), min_df=2,
                                               sublinear_tf=True, dtype=np.float64)))
    return FeatureUnion(parts)


def _calibrated_svm(c: float) -> CalibratedClassifierCV:
    return CalibratedClassifierCV(
        LinearSVC(C=c, class_weight="balanced"), method="sigmoid", cv=3, ensemble=False
    )


class TopicModel(BaseEstimator):
    """Multi-label (one-vs-rest) or single-label text classifier with tuned thresholds.

    Multi-label: the `none_label` ("other") is not learned as a class; it is predicted when no
    label passes its threshold. Single-label data (one label per row) gives a multiclass model
    that predicts exactly one label per text; its C and whether to add character n-grams are
    chosen by cross-validated macro-F1 on the training data (`selection_`), and `c` is unused.
    """

    def __init__(
        self,
        *,
        c: float = 0.5,
        none_label: str = OTHER,
        n_folds: int = 5,
        light_features: bool = False,
        random_state: int = 0,
    ):
        self.c = c
        self.none_label = none_label
        self.n_folds = n_folds
        self.light_features = light_features
        self.random_state = random_state

    # ------------------------------------------------------------------ training
    def fit(self, texts: Sequence[str], labels: Sequence[Sequence[str]]) -> TopicModel:
        """Learn features, one calibrated classifier per label and per-label thresholds."""
        texts = list(texts)
        labels = [list(dict.fromkeys(row)) for row in labels]
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} văn bản nhưng {len(labels)} dòng nhãn")
        if len(texts) < 10:
            raise ValueError(f"cần ít nhất 10 văn bản có nhãn, mới có {len(texts)}")
        if any(not row for row in labels):
            raise ValueError("văn bản nào cũng cần ít nhất một nhãn")
        self.multilabel_ = any(len(row) > 1 for row in labels)
        counts: dict[str, int] = {}
        for row in labels:
            for label in row:
                counts[label] = counts.get(label, 0) + 1
        rare = sorted(label for label, n in counts.items() if n < MIN_EXAMPLES_PER_LABEL)
        if rare:
            raise ValueError(
                f"mỗi nhãn cần ít nhất {MIN_EXAMPLES_PER_LABEL} văn bản; nhãn quá ít: "
                + ", ".join(f"{label} ({counts[label]})" for label in rare)
            )
        single = not self.multilabel_ and not self.light_features
        self.features_ = build_features(light=self.light_features, chars=single)
        matrix = self.features_.fit_transform(texts)
        if self.multilabel_:
            targets = [[x for x in row if x != self.none_label] for row in labels]
            self.binarizer_ = MultiLabelBinarizer()
            y = self.binarizer_.fit_transform(targets)
            self.labels_ = [str(x) for x in self.binarizer_.classes_]
            self.thresholds_ = self._tune_thresholds(matrix, y)
            self.relative_floor_ = self._tune_relative_floor(self.oof_probabilities_, y)
            self.classifier_ = OneVsRestClassifier(_calibrated_svm(self.c)).fit(matrix, y)
        else:
            flat = [row[0] for row in labels]
            self.binarizer_ = LabelBinarizer().fit(flat)
            self.labels_ = [str(x) for x in self.binarizer_.classes_]
            if len(self.labels_) < 2:
                raise ValueError("cần ít nhất hai nhãn khác nhau để huấn luyện")
            self.thresholds_ = {label: 0.0 for label in self.labels_}
            # C and the character n-grams are chosen on the training data alone (3-fold CV).
            choice = choose_settings(matrix, flat, 2 * HASHED_COLUMNS)
            self.selection_ = {"c": choice.c, "chars": choice.chars, "macro_f1": choice.scores}
            if not choice.chars:
                self.features_.set_params(chars="drop")
                matrix = matrix[:, :2 * HASHED_COLUMNS]
            self.classifier_ = _calibrated_svm(choice.c).fit(matrix, flat)
        return self

    def _tune_thresholds(self, matrix: Any, y: np.ndarray) -> dict[str, float]:
        folds = KFold(n_splits=self.n_folds, shuffle=True, random_state=self.random_state)
        probabilities = np.zeros(y.shape, dtype=float)
        for train, test in folds.split(matrix):
            model = OneVsRestClassifier(_calibrated_svm(self.c)).fit(matrix[train], y[train])
            probabilities[test] = model.predict_proba(matrix[test])
        self.oof_probabilities_ = probabilities
        grid = np.arange(0.1, 0.91, 0.025)
        thresholds: dict[str, float] = {}
        for j, label in enumerate(self.labels_):
            truth = y[:, j].astype(bool)
            best, best_f1 = 0.5, -1.0
            for threshold in grid:
                predicted = probabilities[:, j] >= threshold
                tp = float(np.sum(predicted & truth))
                f1 = 2 * tp / (predicted.sum() + truth.sum()) if truth.any() else 0.0
                if f1 > best_f1 + 1e-9:
                    best, best_f1 = float(threshold), f1
            thresholds[label] = round(best, 3)
        return thresholds

    def _tune_relative_floor(self, probabilities: np.ndarray, y: np.ndarray) -> float:
        """Return the share of the best score an extra label needs, chosen out of fold.

        Thresholds alone let a text collect every label that is merely plausible; a second or
        third label is kept only when its score is also close to the best one. The floor that
        maximises the mean of micro-F1 and exact-set accuracy on out-of-fold scores wins (ties go
        to the lower floor, i.e. fewer changes to the thresholds' choice).
        """
        best_floor, best_value = 0.0, -1.0
        truth = y.astype(bool)
        for floor in (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
            chosen = self._choose(probabilities, floor)
            tp = float(np.sum(chosen & truth))
            micro = 2 * tp / max(chosen.sum() + truth.sum(), 1)
            exact = float(np.mean(np.all(chosen == truth, axis=1)))
            value = (micro + exact) / 2
            if value > best_value + 1e-9:
                best_floor, best_value = floor, value
        return best_floor

    def _choose(self, probabilities: np.ndarray, floor: float) -> np.ndarray:
        limits = np.array([self.thresholds_[label] for label in self.labels_])
        best = probabilities.max(axis=1, keepdims=True)
        return (probabilities >= limits) & (probabilities >= floor * best)

    # ------------------------------------------------------------------ prediction
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Return one probability per label (columns in `labels_` order) for each text."""
        matrix = self.features_.transform(list(texts))
        if self.multilabel_:
            return np.asarray(self.classifier_.predict_proba(matrix))
        probabilities = np.asarray(self.classifier_.predict_proba(matrix))
        order = [list(self.classifier_.classes_).index(label) for label in self.labels_]
        return probabilities[:, order]

    def predict_labels(self, probabilities: np.ndarray) -> list[list[str]]:
        """Return the labels chosen from probabilities (thresholds, or the best single label)."""
        if not self.multilabel_:
            return [[self.labels_[int(i)]] for i in probabilities.argmax(axis=1)]
        chosen = self._choose(probabilities, getattr(self, "relative_floor_", 0.0))
        return [
            [label for label, keep in zip(self.labels_, row, strict=True) if keep]
            or [self.none_label]
            for row in chosen
        ]

    def predict(self, texts: Sequence[str]) -> list[list[str]]:
        """Return the labels of each text."""
        return self.predict_labels(self.predict_proba(texts))

    def confidence(self, probabilities: np.ndarray, chosen: Sequence[str]) -> float:
        """Return the calibrated probability behind a choice of labels for one text.

        For topics it is the lowest probability among the chosen ones (the weakest link of the
        choice); for `other` it is the probability that no topic applies, read as one minus the
        best topic's probability.
        """
        index = {label: i for i, label in enumerate(self.labels_)}
        picked = [probabilities[index[label]] for label in chosen if label in index]
        if picked:
            return float(min(picked))
        return float(1.0 - probabilities.max()) if len(probabilities) else 0.0


class TamtuClassifier(BaseEstimator):
    """The shipped artefact: a topic model plus a signal model; signals also come from rules."""

    def __init__(self, *, topic_model: TopicModel, signal_model: TopicModel | None = None):
        self.topic_model = topic_model
        self.signal_model = signal_model

    def predict_batch(self, texts: Sequence[str]) -> list[Prediction]:
        """Return topics, scores and signals for each normalised text."""
        texts = list(texts)
        if not texts:
            return []
        probabilities = self.topic_model.predict_proba(texts)
        topics = self.topic_model.predict_labels(probabilities)
        labels = self.topic_model.labels_
        model_signals: list[list[str]] = [[] for _ in texts]
        if self.signal_model is not None:
            chosen = self.signal_model.predict(texts)
            model_signals = [[s for s in row if s in SIGNALS] for row in chosen]
        results = []
        for i, text in enumerate(texts):
            found = set(rule_signals(text)) | set(model_signals[i])
            results.append(Prediction(
                topics=topics[i],
                scores={label: round(float(p), 4) for label, p in zip(labels, probabilities[i],
                                                                      strict=True)},
                signals=[s for s in SIGNALS if s in found],
                confidence=round(self.topic_model.confidence(probabilities[i], topics[i]), 4),
            ))
        return results


# ---------------------------------------------------------------------- persistence
# skops refuses to load any type not listed here, so a tampered file cannot run code.
_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.sparse.", "builtins.")
_TRUSTED_NAMES = frozenset({
    "pipeline.text.classify.TopicModel",
    "pipeline.text.classify.TamtuClassifier",
    "pipeline.text.classify.word_analyzer",
    "pipeline.text.classify.folded_syllable_analyzer",
    "pipeline.text.features.word_analyzer",
    "pipeline.text.features.folded_syllable_analyzer",
    "collections.defaultdict",
    "collections.OrderedDict",
})


def save_classifier(model: TamtuClassifier, path: Path) -> str:
    """Write the model with skops and return the file's SHA-256."""
    import skops.io as sio

    path.parent.mkdir(parents=True, exist_ok=True)
    sio.dump(model, path, compression=zipfile.ZIP_DEFLATED, compresslevel=6)
    # The copy `tamtu classify` and ingest load fast (pipeline.text.compact); a model it cannot
    # hold (single-label) is loaded from this file, and an older copy is removed.
    from pipeline.text.compact import CompactModelError, compact_path, save_compact

    try:
        save_compact(model, path)
    except CompactModelError:
        compact_path(path).unlink(missing_ok=True)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_classifier(path: Path) -> TamtuClassifier:
    """Return the classifier stored at path, refusing files that hold untrusted types."""
    import skops.io as sio

    if not path.exists():
        raise ModelLoadError(f"không tìm thấy tệp mô hình '{path}'")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as error:  # skops raises zip and json errors on damaged files
        raise ModelLoadError(f"tệp mô hình '{path}' bị hỏng hoặc không đúng định dạng") from error
    refused = [
        t for t in untrusted if t not in _TRUSTED_NAMES and not t.startswith(_TRUSTED_PREFIXES)
    ]
    if refused:
        raise ModelLoadError(
            f"tệp mô hình '{path}' chứa kiểu dữ liệu không tin cậy: {', '.join(refused[:5])}"
        )
    model = sio.load(path, trusted=untrusted)
    if not isinstance(model, TamtuClassifier):
        raise ModelLoadError(f"tệp '{path}' không phải mô hình phân loại của Tâm tư")
    return model


def fresh_copy(model: TopicModel) -> TopicModel:
    """Return an unfitted copy with the same settings (for cross-validation)."""
    return clone(model)

