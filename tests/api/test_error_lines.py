"""An unexpected error in a request: a 500 in Vietnamese and one log line without its message."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from pipeline.config import Settings

SECRET = "Nguyễn Thị Hoa 0912345678"


def test_an_unexpected_error_is_answered_and_logged_without_its_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'api.db'}",
                              runs_dir=tmp_path / "runs"))

    def broken() -> None:
        raise ValueError(f"không lưu được đơn của {SECRET}")

    app.add_api_route("/api/v1/hong", broken)
    caplog.set_level(logging.DEBUG)
    # raise_server_exceptions: the error would surface here had it passed the middleware on.
    with TestClient(app, raise_server_exceptions=True) as client:
        response = client.get("/api/v1/healthz")
        response = client.get("/api/v1/hong")
    assert response.status_code == 500
    assert response.json() == {"error": "Lỗi máy chủ; chi tiết đã được ghi vào nhật ký"}
    assert "unexpected ValueError on /api/v1/hong" in caplog.text
    assert SECRET not in caplog.text and "Traceback" not in caplog.text
