"""Health check and Prometheus metrics."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from api.deps import EngineDep, StoreDep
from api.security import Viewer
from pipeline.store.aggregates import source_totals, topic_totals

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Máy chủ và cơ sở dữ liệu còn hoạt động")
def healthz(engine: EngineDep) -> dict[str, str]:
    """Return ok when the database answers."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as error:
        raise HTTPException(503, "Không kết nối được cơ sở dữ liệu") from error
    return {"status": "ok", "database": engine.dialect.name}


@router.get("/metrics", summary="Chỉ số Prometheus", response_class=Response)
def metrics(store: StoreDep, _principal: Viewer) -> Response:
    """Return Prometheus metrics: stored petitions per topic and source type."""
    registry = CollectorRegistry()
    per_topic = Gauge("tamtu_petitions_by_topic", "Stored citizen petitions per topic",
                      ["topic"], registry=registry)
    # From the aggregates kept at ingest: no scan of the petition rows.
    for topic, count in topic_totals(store.engine).items():
        per_topic.labels(topic=topic).set(count)
    per_source = Gauge("tamtu_petitions_by_source_type", "Stored citizen petitions per source type",
                       ["source_type"], registry=registry)
    sources = source_totals(store.engine)
    for source, count in sources.items():
        per_source.labels(source_type=source).set(count)
    total = Gauge("tamtu_petitions_total", "Stored citizen petitions", registry=registry)
    total.set(sum(sources.values()))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
