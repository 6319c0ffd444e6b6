"""FastAPI dependencies: settings, database engine, store and classifier from the app state."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Query, Request
from pydantic import AfterValidator
from sqlalchemy.engine import Engine

from pipeline.config import Settings
from pipeline.records import SOURCE_TYPES
from pipeline.store import PetitionStore
from pipeline.taxonomy import OTHER, default_taxonomy
from pipeline.text.signals import SIGNALS


def get_settings_dep(request: Request) -> Settings:
    """Return the settings the app was created with."""
    return request.app.state.settings  # type: ignore[no-any-return]


def get_engine(request: Request) -> Engine:
    """Return the app's database engine."""
    return request.app.state.engine  # type: ignore[no-any-return]


def get_store(engine: Annotated[Engine, Depends(get_engine)]) -> PetitionStore:
    """Return a petition store on the app's engine."""
    return PetitionStore(engine)


def get_monitor(request: Request) -> Any:
    """Return the app's monitoring engine (results cached per stored data version)."""
    return request.app.state.monitor


def get_classifier(request: Request) -> Any:
    """Return the topic classifier, loaded on first use; 503 when no model exists."""
    state = request.app.state
    if getattr(state, "classifier", None) is not None:
        return state.classifier
    # Twenty first requests at once must load the model once, not twenty times side by side.
    with state.classifier_lock:
        if state.classifier is None:
            from pipeline.text.compact import ModelLoadError, load_runtime_classifier

            settings: Settings = state.settings
            if not settings.model_path.exists():
                raise HTTPException(503, "Chưa có mô hình phân loại trên máy chủ")
            try:
                state.classifier = load_runtime_classifier(settings.model_path)
            except ModelLoadError as error:
                raise HTTPException(503, f"Không tải được mô hình: {error}") from error
    return state.classifier


def get_gazetteer(request: Request) -> Any:
    """Return the local village gazetteer (re-read when its files change), or None."""
    from pipeline.text.places import GazetteerError, load_gazetteer

    directory = request.app.state.settings.gazetteer_dir
    if not directory.exists():
        return None
    try:
        return load_gazetteer(directory)
    except GazetteerError as error:
        raise HTTPException(500, f"Danh bạ thôn bị lỗi: {error}") from error


# Database ids are 32-bit in both backends: larger numbers are refused with a 422, not a 500.
RecordId = Annotated[int, Path(ge=1, le=2_147_483_647, description="Số hiệu")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
EngineDep = Annotated[Engine, Depends(get_engine)]
StoreDep = Annotated[PetitionStore, Depends(get_store)]
ClassifierDep = Annotated[Any, Depends(get_classifier)]
MonitorDep = Annotated[Any, Depends(get_monitor)]
GazetteerDep = Annotated[Any, Depends(get_gazetteer)]


# Filters whose values are checked against a closed list: the list is in the OpenAPI document
# and the check is the same on every route, so a client knows every value the server accepts.
def _one_of(allowed: tuple[str, ...]) -> Any:
    def check(value: str | None) -> str | None:
        if value is not None and value not in allowed:
            raise ValueError(f"'{value}' không có; chọn một trong: {', '.join(allowed)}")
        return value

    return AfterValidator(check)


_TOPICS = (*default_taxonomy().codes, OTHER)
TopicFilter = Annotated[str | None, Query(max_length=40, json_schema_extra={
    "enum": list(_TOPICS)}), _one_of(_TOPICS)]
SourceTypeFilter = Annotated[str | None, Query(max_length=40, json_schema_extra={
    "enum": list(SOURCE_TYPES)}), _one_of(tuple(SOURCE_TYPES))]
SignalFilter = Annotated[str | None, Query(max_length=20, json_schema_extra={
    "enum": list(SIGNALS)}), _one_of(tuple(SIGNALS))]
