"""Text features and the prediction record, without scikit-learn: what a loaded model needs.

The analyzers are module-level functions so that a fitted model can be saved and loaded; the
training code (pipeline.text.classify) and the compact runtime model (pipeline.text.compact)
both read texts through them, so both see the same features.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from pipeline.intake.normalize import fold_diacritics
from pipeline.text.tokenize import word_tokens


class ModelLoadError(RuntimeError):
    """A model file that is missing, damaged or holds types we do not trust."""


_NON_WORD = re.compile(r"[^\w]+")
_HAS_WORD = re.compile(r"[^\W_]")


@dataclass
class Prediction:
    """Topics (or ["other"]), the probability of every topic, and the signals of one text."""

    topics: list[str]
    scores: dict[str, float]
    signals: list[str] = field(default_factory=list)
    confidence: float = 0.0


def word_analyzer(text: str) -> list[str]:
    """Return lower-cased underthesea word tokens plus adjacent word pairs."""
    words = [w.lower().replace(" ", "_") for w in word_tokens(text) if _HAS_WORD.search(w)]
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def folded_syllable_analyzer(text: str) -> list[str]:
    """Return diacritic-free syllables and syllable pairs, so unaccented typing still matches."""
    return list(_folded_syllables(text))


# Chat shorthand ("teencode") and common abbreviations, folded, mapped to the folded words they
# stand for, so that "ko dc" and "không được" give the same syllable features. Only tokens that
# are unambiguous in citizens' messages are listed ("a", "e" or "ca" are left alone).
TEENCODE: dict[str, str] = {
    "ko": "khong", "k": "khong", "kh": "khong", "hok": "khong", "khg": "khong",
    "kg": "khong", "dc": "duoc", "j": "gi", "z": "vay", "v": "vay",
    "vs": "voi", "mn": "moi nguoi", "mng": "moi nguoi", "ng": "nguoi", "ae": "anh em",
    "bit": "biet", "bik": "biet", "wa": "qua", "lun": "luon", "mik": "minh", "mk": "minh",
    "r": "roi", "cx": "cung", "ntn": "nhu the nao", "dt": "dien thoai", "sdt": "so dien thoai",
    "tk": "tai khoan", "bhyt": "bao hiem y te", "bhxh": "bao hiem xa hoi", "ubnd": "uy ban",
    "ck": "chuyen khoan", "tr": "trieu", "lm": "lam",
    "bn": "bao nhieu", "qa": "qua", "ik": "di", "nhiu": "nhieu", "thui": "thoi",
}


def expand_teencode(syllables: Sequence[str]) -> list[str]:
    """Return folded syllables with chat shorthand replaced by the words it stands for."""
    out: list[str] = []
    for syllable in syllables:
        out.extend(TEENCODE.get(syllable, syllable).split())
    return out


@lru_cache(maxsize=4096)
def _folded_syllables(text: str) -> tuple[str, ...]:
    # The topic and the signal model both read these features for the same batch of texts.
    syllables = expand_teencode([s for s in _SYLLABLE_SPLIT(fold_diacritics(text)) if s])
    return tuple(syllables + [f"{a} {b}" for a, b in zip(syllables, syllables[1:], strict=False)])


def _SYLLABLE_SPLIT(text: str) -> list[str]:  # noqa: N802
    return _NON_WORD.sub(" ", text).split()
