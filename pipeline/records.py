"""The canonical petition record and the quarantine row every reader produces."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

SOURCE_TYPES: tuple[str, ...] = (
    "petition",
    "complaint",
    "denunciation",
    "feedback",
    "minutes",
    "social",
)

# What a person sees for each source type (CLI tables, reports).
SOURCE_TYPE_NAMES: dict[str, str] = {
    "petition": "Đơn kiến nghị",
    "complaint": "Đơn khiếu nại",
    "denunciation": "Đơn tố cáo",
    "feedback": "Phản ánh",
    "minutes": "Biên bản tiếp xúc",
    "social": "Mạng xã hội",
}

RECORD_FIELDS: tuple[str, ...] = (
    "text",
    "received_at",
    "area",
    "source_type",
    "external_id",
    "sender_name",
    "sender_contact",
    "channel",
)


@dataclass
class Record:
    """One citizen text as read from a file, before normalisation."""

    text: str
    source_type: str = "feedback"
    received_at: date | None = None
    area: str | None = None
    external_id: str | None = None
    sender_name: str | None = None
    sender_contact: str | None = None
    channel: str | None = None
    is_response: bool = False
    source_file: str = ""
    source_row: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Topics decided by a person in the source file (labelled history): stored as they are,
    # without classification. None: the classifier decides.
    topics: tuple[str, ...] | None = None


@dataclass
class QuarantineRow:
    """A row or a whole file that could not become a record, with the reason in plain words."""

    source_file: str
    source_row: int | None
    reason: str
    raw: str = ""


@dataclass(frozen=True)
class SkippedFile:
    """A file met while walking the inputs that holds no rows to read, with the reason."""

    path: str
    reason: str


class TopicPrediction(Protocol):
    """What a classifier returns per text."""

    topics: list[str]
    scores: dict[str, float]
    signals: list[str]


class TopicClassifier(Protocol):
    """Anything that labels a batch of normalised texts with topics, scores and signals."""

    def predict_batch(self, texts: Sequence[str]) -> Sequence[TopicPrediction]: ...
