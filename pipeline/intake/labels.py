"""Topic labels given in a file (labelled history): codes or Vietnamese names, `;`-separated.

An office bringing years of history from another system has each petition's field ("Lĩnh vực")
already decided by a person. Such rows are stored with those topics, not re-classified. A label
is accepted as a taxonomy code (`land`), as a topic's Vietnamese name (`Đất đai`, `Tôn giáo, tín
ngưỡng`) or as one part of a name with several parts (`Tôn giáo`, `tín ngưỡng`), in any case and
with or without diacritics. Anything else is an error whose message lists what is accepted.
"""

from __future__ import annotations

import re

from pipeline.intake.normalize import fold_diacritics
from pipeline.taxonomy import OTHER, Taxonomy

_SEPARATORS = re.compile(r"[;\n|]+")


class LabelError(ValueError):
    """A labels cell with a label that is not a topic of the taxonomy."""


def _fold(text: str) -> str:
    return " ".join(fold_diacritics(text).lower().replace("đ", "d").split())


def label_lookup(taxonomy: Taxonomy) -> dict[str, str]:
    """Return {folded label: topic code} for every accepted spelling of every topic."""
    lookup: dict[str, str] = {}
    for topic in (*taxonomy.topics, taxonomy.other):
        lookup[_fold(topic.code)] = topic.code
        lookup[_fold(topic.name)] = topic.code
        for part in topic.name.split(","):
            # A part shared by two names would be ambiguous: the first topic keeps it.
            lookup.setdefault(_fold(part), topic.code)
    return lookup


def parse_labels(cell: object, lookup: dict[str, str]) -> tuple[str, ...] | None:
    """Return the topic codes of a labels cell in the cell's order (None when it is empty).

    Raise LabelError naming the unknown labels; `other` with a real topic keeps the real one.
    """
    if cell is None:
        return None
    labels = [part.strip() for part in _SEPARATORS.split(str(cell)) if part.strip()]
    if not labels:
        return None
    unknown = [label for label in labels if _fold(label) not in lookup]
    if unknown:
        names = ", ".join(f"'{label}'" for label in unknown)
        raise LabelError(f"lĩnh vực {names} không có trong danh mục lĩnh vực")
    codes = list(dict.fromkeys(lookup[_fold(label)] for label in labels))
    real = [code for code in codes if code != OTHER]
    return tuple(real or codes)


def accepted_names(taxonomy: Taxonomy) -> str:
    """Return the accepted topic names, for an error message."""
    return "; ".join(f"{t.name} ({t.code})" for t in (*taxonomy.topics, taxonomy.other))
