"""Classify texts without storing them."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from api.deps import ClassifierDep
from api.schemas import ClassificationPublic, ClassifyRequest, ClassifyResponse
from api.security import Analyst
from pipeline.intake.normalize import normalize_text

router = APIRouter(prefix="/classify", tags=["classify"])


@router.post("", response_model=ClassifyResponse, summary="Phân loại văn bản theo lĩnh vực")
def classify(body: ClassifyRequest, classifier: ClassifierDep, _principal: Analyst
             ) -> ClassifyResponse:
    """Return topics, scores and signals for one text or a list of texts."""
    texts = ([body.text] if body.text is not None else []) + (body.texts or [])
    if not texts:
        raise HTTPException(422, "Cần gửi 'text' hoặc 'texts'")
    normalized = [normalize_text(t).text for t in texts]
    if any(not t for t in normalized):
        raise HTTPException(422, "Có văn bản trống")
    predictions = classifier.predict_batch(normalized)
    return ClassifyResponse(data=[
        ClassificationPublic(topics=p.topics, scores=p.scores, signals=p.signals,
                             confidence=p.confidence)
        for p in predictions
    ])
