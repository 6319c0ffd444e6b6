"""Training: any labelled CSV into a model file, and the default model from the team's corpus."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import KFold

from models.data import LabelledData, read_corpus, read_labelled
from models.evaluate import label_metrics
from pipeline.text.classify import OTHER, TamtuClassifier, TopicModel, save_classifier
from pipeline.text.signals import SIGNALS, rule_signals

Progress = Callable[[str], None]


def _quiet(_message: str) -> None:
    return None


def train_classifier(
    data: LabelledData, *, with_signals: bool = True, c: float = 0.5
) -> TamtuClassifier:
    """Return a fitted classifier: topics from data.labels, signals when data has them."""
    topic_model = TopicModel(c=c).fit(data.texts, data.labels)
    signal_model = None
    if with_signals and data.signals is not None and any(data.signals):
        signal_labels = [row or [OTHER] for row in data.signals]
        if sum(1 for row in data.signals if row) >= 20:
            signal_model = TopicModel(c=c, light_features=True).fit(data.texts, signal_labels)
            # A signal model must stay multi-label even if no text has two signals.
            if not signal_model.multilabel_:
                signal_model = None
    return TamtuClassifier(topic_model=topic_model, signal_model=signal_model)


def cross_validate(
    data: LabelledData, *, folds: int = 5, seed: int = 0, c: float = 0.5,
    progress: Progress = _quiet,
) -> dict[str, Any]:
    """Return out-of-fold metrics for topics and signals (thresholds tuned inside each fold)."""
    splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    predicted: list[list[str]] = [[] for _ in data.texts]
    predicted_signals: list[list[str]] = [[] for _ in data.texts]
    rules_only: list[list[str]] = [rule_signals(t) or [] for t in data.texts]
    for number, (train, test) in enumerate(splitter.split(data.texts), start=1):
        progress(f"kiểm định chéo: lượt {number}/{folds}")
        part = LabelledData(
            [data.texts[i] for i in train], [data.labels[i] for i in train],
            [data.signals[i] for i in train] if data.signals is not None else None,
        )
        model = train_classifier(part, c=c)
        for i, prediction in zip(test, model.predict_batch([data.texts[i] for i in test]),
                                 strict=True):
            predicted[i] = prediction.topics
            predicted_signals[i] = prediction.signals
    result: dict[str, Any] = {"folds": folds, "topics": label_metrics(data.labels, predicted)}
    if data.signals is not None:
        truth = [row or ["none"] for row in data.signals]
        result["signals"] = label_metrics(truth, [row or ["none"] for row in predicted_signals])
        result["signals_rules_only"] = label_metrics(
            truth, [row or ["none"] for row in rules_only]
        )
    return result


def evaluate_classifier(model: TamtuClassifier, data: LabelledData) -> dict[str, Any]:
    """Return metrics of a fitted classifier on a labelled set (topics, and signals if given)."""
    predictions = model.predict_batch(data.texts)
    result: dict[str, Any] = {"topics": label_metrics(data.labels, [p.topics for p in predictions])}
    if data.signals is not None:
        result["signals"] = label_metrics(
            [row or ["none"] for row in data.signals],
            [p.signals or ["none"] for p in predictions],
        )
    return result


def train_default(
    corpus_dir: Path, out: Path, *, stranger: Path | None = None,
    frozen: dict[str, Path] | None = None, progress: Progress = _quiet,
) -> dict[str, Any]:
    """Train the shipped model on the corpus, measure it, write the model and its metrics.

    `stranger` and every file of `frozen` (name → path) are evaluation sets that are never
    trained on; their metrics are stored under "stranger" and under their names.
    """
    data = read_corpus(corpus_dir)
    progress(f"đã đọc {len(data.texts)} văn bản có nhãn")
    metrics: dict[str, Any] = {"corpus": describe(data)}
    started = time.perf_counter()
    metrics["cross_validation"] = cross_validate(data, progress=progress)
    progress("huấn luyện mô hình cuối cùng")
    model = train_classifier(data)
    metrics["train_seconds_final"] = round(time.perf_counter() - started, 1)
    metrics["thresholds"] = model.topic_model.thresholds_
    if stranger is not None and stranger.exists():
        stranger_data = read_labelled(stranger)
        metrics["stranger"] = {"n": len(stranger_data.texts),
                               **evaluate_classifier(model, stranger_data)}
    for name, path in (frozen or {}).items():
        if path.exists():
            frozen_data = read_labelled(path)
            metrics[name] = {"n": len(frozen_data.texts),
                             **evaluate_classifier(model, frozen_data)}
    metrics["sha256"] = save_classifier(model, out)
    metrics["size_bytes"] = out.stat().st_size
    out.with_suffix(".metrics.json").write_text(
        json.dumps(metrics, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return metrics


def describe(data: LabelledData) -> dict[str, Any]:
    """Return counts per label and signal, and the multi-label share."""
    per_label: dict[str, int] = {}
    for row in data.labels:
        for label in row:
            per_label[label] = per_label.get(label, 0) + 1
    per_signal: dict[str, int] = {s: 0 for s in SIGNALS}
    for row in data.signals or []:
        for signal in row:
            per_signal[signal] = per_signal.get(signal, 0) + 1
    lengths = np.array([len(t.split()) for t in data.texts])
    return {
        "texts": len(data.texts),
        "per_label": dict(sorted(per_label.items())),
        "per_signal": per_signal,
        "multi_label_share": round(sum(len(r) > 1 for r in data.labels) / len(data.labels), 3),
        "syllables_median": int(np.median(lengths)),
        "syllables_max": int(lengths.max()),
    }



def summary_line(topics: dict[str, Any]) -> str:
    """Return one Vietnamese line: F1, exact-set accuracy and labels per text against the gold."""
    per_text = topics["labels_per_text"]
    return (f"micro-F1 {topics['micro_f1']:.3f}, macro-F1 {topics['macro_f1']:.3f}, "
            f"đúng cả bộ nhãn {topics['accuracy']:.3f}, số nhãn mỗi văn bản "
            f"{per_text['predicted']:.2f} (nhãn đúng {per_text['gold']:.2f})")


def main() -> None:
    """Retrain the shipped default model: python -m models.train [--corpus D] [--out M]."""
    import argparse

    from pipeline.config import PROJECT_ROOT

    parser = argparse.ArgumentParser(description="Huấn luyện lại mô hình mặc định của Tâm tư")
    parser.add_argument("--corpus", type=Path, default=PROJECT_ROOT / "data" / "corpus")
    parser.add_argument("--stranger", type=Path,
                        default=PROJECT_ROOT / "data" / "stranger" / "stranger.jsonl")
    parser.add_argument("--stranger-b", type=Path,
                        default=PROJECT_ROOT / "data" / "eval" / "stranger_b.jsonl")
    parser.add_argument("--out", type=Path,
                        default=PROJECT_ROOT / "models" / "artifacts" / "topic_model.skops")
    args = parser.parse_args()
    metrics = train_default(args.corpus, args.out, stranger=args.stranger,
                            frozen={"stranger_b": args.stranger_b},
                            progress=lambda m: print(f"… {m}", flush=True))
    for key, name in (("cross_validation", "Kiểm định chéo"), ("stranger", "Tập người lạ A"),
                      ("stranger_b", "Tập người lạ B")):
        if key in metrics:
            print(f"{name}: {summary_line(metrics[key]['topics'])}")
    print(f"Đã ghi {args.out} ({metrics['size_bytes'] / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
