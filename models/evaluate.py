"""Metrics for any labelled set: accuracy, micro/macro/weighted F1, per label, confusion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from sklearn.preprocessing import MultiLabelBinarizer


def label_metrics(
    truth: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], *, bootstrap: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Return metrics as JSON-ready values; single-label sets also get a confusion matrix.

    Multi-label accuracy is exact-set accuracy. Confidence intervals are 95% percentile
    bootstrap intervals over texts.
    """
    if len(truth) != len(predicted):
        raise ValueError("truth and predictions differ in length")
    labels = sorted({x for row in (*truth, *predicted) for x in row})
    binarizer = MultiLabelBinarizer(classes=labels)
    y_true = binarizer.fit_transform(truth)
    y_pred = binarizer.transform(predicted)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, zero_division=0
    )
    single = all(len(row) == 1 for row in truth) and all(len(row) == 1 for row in predicted)
    result: dict[str, Any] = {
        "n": len(truth),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "micro_f1": float(f1_score(y_true, y_pred, average="micro", zero_division=0)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(y_true, y_pred, average="weighted", zero_division=0)),
        "labels_per_text": labels_per_text(truth, predicted),
        "per_label": {
            label: {
                "precision": float(precision[i]), "recall": float(recall[i]),
                "f1": float(f1[i]), "support": int(support[i]),
            }
            for i, label in enumerate(labels)
        },
    }
    if bootstrap:
        result["ci95"] = _bootstrap(y_true, y_pred, bootstrap, seed)
    if single:
        index = {label: i for i, label in enumerate(labels)}
        matrix = np.zeros((len(labels), len(labels)), dtype=int)
        for t, p in zip(truth, predicted, strict=True):
            matrix[index[t[0]], index[p[0]]] += 1
        result["confusion"] = {"labels": labels, "matrix": matrix.tolist()}
    else:
        result["confusion"] = {
            label: {
                "tp": int(np.sum(y_true[:, i] & y_pred[:, i])),
                "fp": int(np.sum(~y_true[:, i].astype(bool) & y_pred[:, i].astype(bool))),
                "fn": int(np.sum(y_true[:, i].astype(bool) & ~y_pred[:, i].astype(bool))),
            }
            for i, label in enumerate(labels)
        }
    return result


def labels_per_text(
    truth: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]
) -> dict[str, float]:
    """Return the mean number of labels per text in the gold and in the predictions.

    `ratio` above 1 means the model gives more labels than the gold (over-labelling).
    """
    gold = sum(len(row) for row in truth) / max(len(truth), 1)
    guessed = sum(len(row) for row in predicted) / max(len(predicted), 1)
    return {"gold": round(gold, 4), "predicted": round(guessed, 4),
            "ratio": round(guessed / gold, 4) if gold else 0.0}


def _bootstrap(y_true: np.ndarray, y_pred: np.ndarray, rounds: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    n = len(y_true)
    values: dict[str, list[float]] = {"micro_f1": [], "macro_f1": [], "weighted_f1": []}
    for _ in range(rounds):
        sample = rng.integers(0, n, n)
        for average in ("micro", "macro", "weighted"):
            values[f"{average}_f1"].append(
                f1_score(y_true[sample], y_pred[sample], average=average, zero_division=0)
            )
    return {
        key: [round(float(np.percentile(v, 2.5)), 4), round(float(np.percentile(v, 97.5)), 4)]
        for key, v in values.items()
    }
