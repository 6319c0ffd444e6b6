"""The FastAPI application: create_app(settings) mounts every router under /api/v1."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.openapi import allowed_methods, build_openapi
from api.routes import (
    admin,
    alerts,
    auth,
    cases,
    classify,
    health,
    imports,
    monitoring,
    petitions,
    reports,
    web,
)
from api.security import HardeningMiddleware, RateLimiter, audit_middleware
from pipeline.config import Settings, get_settings
from pipeline.monitor.engine import Monitor
from pipeline.store import PetitionStore, create_db_engine, migrate
from pipeline.store.database import READ_ONLY_MESSAGE
from pipeline.text.tokenize import warm_up_tools

logger = logging.getLogger("tamtu.api")
API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Return the API app bound to the settings (the database is migrated at start-up)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        migrate(app.state.engine)
        # underthesea's models load on their first call and are not safe to load from several
        # request threads at once: load them before the first request.
        await asyncio.to_thread(warm_up_tools)
        # Detection over a large history takes seconds: start it before the first visit.
        stop = threading.Event()
        threading.Thread(target=_warm_up, args=(app.state.monitor, stop), daemon=True).start()
        yield
        stop.set()
        app.state.engine.dispose()

    app = FastAPI(
        title="Tâm tư API",
        description="Theo dõi đơn thư, phản ánh của Nhân dân: lĩnh vực, xu hướng, điểm nóng, "
        "cảnh báo.\n\nMọi địa chỉ dưới `/api/v1` (trừ `/api/v1/healthz`) cần tiêu đề "
        "`Authorization: Bearer <mã truy cập>`; quản trị viên cấp mã ở mục \"Người dùng, mã "
        "truy cập\" của trang theo dõi hoặc bằng lệnh `tamtu tokens create --user TÊN`. Đã "
        "đăng nhập trang theo dõi trên cùng trình duyệt thì thử được các lệnh GET ngay tại đây.",
        version="0.1.0",
        # The stock docs page loads Swagger UI from a CDN: closed networks would see a blank
        # page. Ours (api/routes/web.py) serves Swagger UI from the installed package.
        docs_url=None,
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = create_db_engine(settings.database_url)
    app.state.classifier = None
    app.state.classifier_lock = threading.Lock()
    app.state.monitor = Monitor(PetitionStore(app.state.engine))
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute,
                                         path=settings.runs_dir / RATE_LIMIT_FILE)
    app.state.imports = imports.ImportJobs()
    for module in (health, auth, petitions, imports, classify, monitoring, alerts, cases,
                   reports, admin):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(web.router)
    _install_error_handlers(app)
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    # CORS stays off: the dashboard is served by this same app.
    app.middleware("http")(audit_middleware)
    app.add_middleware(GZipMiddleware, minimum_size=2048)
    app.add_middleware(HardeningMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(UnexpectedErrors)
    return app


WARM_UP_SECONDS = 60
# Shared by every server process on the machine (`tamtu serve --workers N`).
RATE_LIMIT_FILE = "rate-limit.sqlite3"


def _warm_up(monitor: Monitor, stop: threading.Event) -> None:
    # Re-check every minute: after an ingest from the command line the cached results are stale
    # and the next dashboard visit would otherwise wait for a detection run.
    while not stop.is_set():
        try:
            monitor.warm_up()
        except Exception as error:  # noqa: BLE001 - a cache warm-up must never stop the server
            logger.warning("warm-up skipped: %s", type(error).__name__)
        stop.wait(WARM_UP_SECONDS)


# Framework messages that reach users, in Vietnamese.
_STOCK_MESSAGES = {
    "Not Found": "Không có địa chỉ này",
    "Method Not Allowed": "Địa chỉ này không nhận phương thức yêu cầu đó",
    "There was an error parsing the body": "Không đọc được nội dung gửi lên",
}
_PROBLEMS = {
    "missing": "thiếu trường bắt buộc",
    "json_invalid": "nội dung không phải JSON hợp lệ",
    "extra_forbidden": "trường này không được phép",
    "int_parsing": "phải là số nguyên",
    "int_type": "phải là số nguyên",
    "bool_parsing": "phải là true hoặc false",
    "string_type": "phải là chuỗi ký tự",
    "date_parsing": "phải là ngày dạng YYYY-MM-DD",
    "date_from_datetime_parsing": "phải là ngày dạng YYYY-MM-DD",
    "list_type": "phải là một danh sách",
    "model_attributes_type": "phải là một đối tượng JSON",
    "dict_type": "phải là một đối tượng JSON",
}


def _problem(error: Any) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind in ("less_than_equal", "less_than"):
        return f"phải không lớn hơn {ctx.get('le', ctx.get('lt'))}"
    if kind in ("greater_than_equal", "greater_than"):
        return f"phải không nhỏ hơn {ctx.get('ge', ctx.get('gt'))}"
    if kind == "string_too_long":
        return f"dài quá {ctx.get('max_length')} ký tự"
    if kind == "string_too_short":
        return f"cần ít nhất {ctx.get('min_length')} ký tự"
    if kind == "too_long":
        return f"nhiều quá {ctx.get('max_length')} phần tử"
    if kind == "value_error" and isinstance(ctx.get("error"), ValueError):
        return str(ctx["error"])
    if kind == "literal_error":
        return f"chỉ nhận: {ctx.get('expected')}"
    return _PROBLEMS.get(kind, "giá trị không hợp lệ")


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        message = _STOCK_MESSAGES.get(str(error.detail), str(error.detail))
        headers = dict(getattr(error, "headers", None) or {})
        if error.status_code == 405:
            methods = allowed_methods(app.openapi(), _request.url.path)
            headers["Allow"] = ", ".join(methods) or headers.get("Allow", "")
        return JSONResponse({"error": message}, status_code=error.status_code,
                            headers=headers or None)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in e.get("loc", ())[1:]), "problem": _problem(e)}
            for e in error.errors()
        ]
        return JSONResponse(
            {"error": "Dữ liệu gửi lên không hợp lệ", "detail": problems}, status_code=422
        )

    @app.exception_handler(sa.exc.OperationalError)
    async def database_error(_request: Request, error: sa.exc.OperationalError) -> JSONResponse:
        if "readonly" in str(error.orig).replace(" ", "").lower():
            return JSONResponse({"error": f"Không lưu được: {READ_ONLY_MESSAGE}"},
                                status_code=503)
        logger.error("database error %s on %s", type(error.orig).__name__, _request.url.path)
        return JSONResponse({"error": "Cơ sở dữ liệu đang không dùng được; xin thử lại sau"},
                            status_code=503)


class UnexpectedErrors:
    """Outermost middleware: an unexpected error becomes a 500 and one log line.

    Starlette's last-resort handler answers and then raises again, and the server logs the
    traceback with the error's message, which may quote a petition or a sender. Here only the
    kind of error and the path are logged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as error:  # noqa: BLE001 - the edge: answered, never re-raised
            logger.error("unexpected %s on %s", type(error).__name__, scope.get("path", ""))
            if not started:
                response = JSONResponse({"error": "Lỗi máy chủ; chi tiết đã được ghi vào nhật ký"},
                                        status_code=500)
                await response(scope, receive, send)
