"""Settings chosen by cross-validation on the training data only (single-label models)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

# Regularisation strengths tried for single-label data; with or without character n-grams.
C_GRID = (0.1, 0.3, 1.0)


@dataclass(frozen=True)
class Choice:
    """The winning settings and the cross-validated macro-F1 of every candidate."""

    c: float
    chars: bool
    scores: dict[str, float]


def choose_settings(
    matrix: object, labels: Sequence[str], base_columns: int, *, folds: int = 3, seed: int = 0,
) -> Choice:
    """Return C and whether to keep the character n-gram columns, by macro-F1 out of fold.

    `matrix` holds the word and syllable columns first (`base_columns` of them) and the
    character n-gram columns after them. Macro-F1 is the criterion because small classes are
    the ones a linear model misses; a tie keeps the earlier (smaller, simpler) candidate.
    """
    y = np.asarray(labels)
    smallest = min(np.unique(y, return_counts=True)[1])
    splitter = StratifiedKFold(n_splits=min(folds, int(smallest)), shuffle=True,
                               random_state=seed)
    splits = list(splitter.split(np.zeros(len(y)), y))
    candidates = [(chars, c) for chars in (False, True) for c in C_GRID]
    scores: dict[str, float] = {}
    best: tuple[bool, float] = candidates[0]
    best_score = -1.0
    for chars, c in candidates:
        columns = matrix if chars else matrix[:, :base_columns]  # type: ignore[index]
        predicted = np.empty(len(y), dtype=y.dtype)
        for train, test in splits:
            model = LinearSVC(C=c, class_weight="balanced").fit(columns[train], y[train])
            predicted[test] = model.predict(columns[test])
        score = float(f1_score(y, predicted, average="macro"))
        scores[f"C={c}{' +chars' if chars else ''}"] = round(score, 4)
        if score > best_score + 1e-9:
            best, best_score = (chars, c), score
    return Choice(c=best[1], chars=best[0], scores=scores)
