"""Request and response schemas of the HTTP API (one family per entity)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from pipeline.records import SOURCE_TYPES


def _as_utc(value: datetime) -> datetime:
    # The database keeps naive UTC; the API says so in every timestamp.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value: Any) -> Any:
    # Lax parsing would read "0" as 1 January 1970; the API documents days as YYYY-MM-DD.
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DAY.fullmatch(value)):
        return value
    raise ValueError("phải là ngày dạng YYYY-MM-DD")


IsoDay = Annotated[date, BeforeValidator(_iso_day)]


class PetitionBase(BaseModel):
    """Fields a caller may send for one petition."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, description="Nội dung đơn, phản ánh",
                             max_length=100_000)
    received_at: str | None = Field(
        default=None, description="Ngày nhận: yyyy-mm-dd hoặc dd/mm/yyyy", max_length=40
    )
    area: str | None = Field(default=None, max_length=500)
    source_type: str | None = Field(
        default=None, description=f"Một trong: {', '.join(SOURCE_TYPES)}", max_length=40
    )
    external_id: str | None = Field(default=None, max_length=200)
    sender_name: str | None = Field(default=None, max_length=300)
    sender_contact: str | None = Field(default=None, max_length=300)
    channel: str | None = Field(default=None, max_length=200)


class PetitionCreate(PetitionBase):
    """One petition to store."""


class NearDuplicatePublic(BaseModel):
    """Another petition of the same near-duplicate cluster."""

    id: int
    received_at: date | None
    area: str


class PetitionPublic(BaseModel):
    """A stored petition as the API returns it."""

    id: int
    text: str
    received_at: date | None
    area: str
    village: str | None
    commune: str | None
    province: str | None
    area_raw: str | None
    source_type: str
    external_id: str | None
    sender_name: str | None
    sender_contact: str | None
    channel: str | None
    is_response: bool
    no_diacritics: bool
    topics: list[str]
    scores: dict[str, float]
    signals: list[str]
    source_file: str
    source_row: int | None
    created_at: UtcDateTime
    cluster_id: int | None = Field(
        default=None, description="Nhóm đơn gần giống nhau (chỉ có khi xem một đơn)")
    near_duplicates: list[NearDuplicatePublic] = Field(
        default_factory=list, description="Các đơn khác trong cùng nhóm (chỉ có khi xem một đơn)")
    extra_columns: dict[str, Any] = Field(
        default_factory=dict,
        description="Các cột khác của tệp gốc (giá trị bị ẩn với vai trò dưới cán bộ phụ trách)")
    case_status: str = Field(default="received", description=(
        "Trạng thái xử lý: received (tiếp nhận), in_progress (đang xử lý), answered (đã trả "
        "lời), resolved (đã giải quyết)"))
    owner: str | None = Field(default=None, description="Người phụ trách")
    due_on: date | None = Field(default=None, description="Hạn xử lý")
    overdue: bool = Field(default=False, description="Còn mở sau hạn xử lý")
    answered_on: date | None = None
    reviewed_at: UtcDateTime | None = Field(default=None, description="Lúc đã kiểm tra nhãn")
    reviewed_by: str | None = None
    model_topics: list[str] | None = Field(
        default=None, description="Lĩnh vực mô hình gán trước khi cán bộ sửa (nếu có sửa)")
    confidence: float | None = Field(
        default=None, description="Độ tin cậy của mô hình (xác suất đã hiệu chỉnh)")


class PetitionsPublic(BaseModel):
    """A page of petitions and the total number matching the filters."""

    data: list[PetitionPublic]
    count: int
    limit: int
    offset: int


class QuarantinePublic(BaseModel):
    """One item that could not be stored, with the reason."""

    index: int | None
    reason: str


class IngestResultPublic(BaseModel):
    """The accounting of a POST /petitions call: read = stored + duplicates + quarantined."""

    read: int
    stored: int
    near_duplicates: int = Field(
        default=0, description="Trong số đã lưu: đơn gần giống một đơn đã có (trùng gần đúng)")
    duplicates: int
    quarantined: int
    by_topic: dict[str, int]
    quarantine: list[QuarantinePublic]


class ClassifyRequest(BaseModel):
    """One text or a list of texts to classify."""

    # One of the two, with some text in it: the schema says so, not only the handler.
    model_config = ConfigDict(extra="forbid", json_schema_extra={"anyOf": [
        {"required": ["text"], "properties": {"text": {"type": "string"}}},
        {"required": ["texts"], "properties": {"texts": {"type": "array", "minItems": 1}}},
    ]})

    text: str | None = Field(default=None, max_length=100_000, pattern=r"\S")
    texts: list[Annotated[str, Field(max_length=100_000, pattern=r"\S")]] | None = Field(
        default=None, max_length=1000)


class ClassificationPublic(BaseModel):
    """Topics, scores and signals of one text; confidence is the calibrated probability behind
    the chosen topics (the lowest of theirs, or for `other` one minus the best topic's)."""

    topics: list[str]
    scores: dict[str, float]
    signals: list[str]
    confidence: float


class ClassifyResponse(BaseModel):
    """Results in the order of the texts sent."""

    data: list[ClassificationPublic]


class ProblemPublic(BaseModel):
    """One field of a refused request and what is wrong with it."""

    field: str
    problem: str


class ErrorPublic(BaseModel):
    """Every error response: one clear message; a 422 lists the fields at fault."""

    error: str
    detail: list[ProblemPublic] | None = None
