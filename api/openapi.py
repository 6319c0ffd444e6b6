"""The OpenAPI document as the API really behaves: error body, status codes, bearer scheme.

FastAPI's generated document declares its own 422 body (`loc`, `msg`, `type`) while every
error here answers `{"error": ..., "detail": [...]}`, leaves out the statuses raised inside
handlers and dependencies, and knows nothing of the token. This module corrects all three.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.schemas import ErrorPublic

BEARER = "bearerAuth"
ERROR_REF = {"$ref": "#/components/schemas/ErrorPublic"}
ERROR_MEANINGS: dict[int, str] = {
    400: "Không đọc được nội dung gửi lên",
    401: "Thiếu mã truy cập, mã sai hoặc đã bị thu hồi",
    403: "Vai trò hoặc địa bàn không cho phép",
    404: "Không có bản ghi này",
    409: "Trùng hoặc xung đột với trạng thái hiện có",
    413: "Nội dung gửi lên quá lớn",
    422: "Dữ liệu gửi lên không hợp lệ",
    429: "Quá nhiều yêu cầu; thử lại sau (xem Retry-After)",
    500: "Lỗi máy chủ",
    503: "Cơ sở dữ liệu, mô hình hoặc danh bạ thôn tạm thời không dùng được",
}
# Every operation may meet these: an unreadable body, the body limit, validation, an unexpected
# error, the database.
COMMON = (400, 413, 422, 500, 503)
# With a token: missing or wrong token, role or scope, rate limit.
AUTHENTICATED = (401, 403, 429)
# Statuses raised inside one handler, beyond what its path parameters imply (404).
RAISED: dict[tuple[str, str], tuple[int, ...]] = {
    ("post", "/api/v1/alert-rules"): (409,),
    ("put", "/api/v1/alert-rules/{rule_id}"): (409,),
    ("post", "/api/v1/alerts/{alert_id}/ack"): (409,),
    ("post", "/api/v1/alerts/{alert_id}/resolve"): (409,),
    ("post", "/api/v1/admin/users"): (409,),
    ("put", "/api/v1/admin/users/{name}"): (409,),
    ("post", "/api/v1/imports/{job_id}/start"): (409,),
    ("get", "/api/v1/trends"): (404,),
    ("get", "/api/v1/reports/monthly"): (404,),
    ("post", "/api/v1/auth/session"): (401,),
    ("post", "/api/v1/petitions/{petition_id}/review"): (409,),
    ("post", "/api/v1/cases/update"): (404,),
    ("post", "/api/v1/alerts/{alert_id}/assign"): (409,),
    ("post", "/api/v1/alerts/{alert_id}/reopen"): (409,),
}


# Answered without a token: the health check, and sign-in (its token comes in the body).
PUBLIC: frozenset[tuple[str, str]] = frozenset({
    ("get", "/api/v1/healthz"), ("post", "/api/v1/auth/session"),
})


def operation_statuses(method: str, path: str) -> list[int]:
    """Return the error statuses an operation may answer with, sorted."""
    statuses = set(COMMON)
    if (method, path) not in PUBLIC:
        statuses.update(AUTHENTICATED)
    if "{" in path:
        statuses.add(404)
    statuses.update(RAISED.get((method, path), ()))
    return sorted(statuses)


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """Return the corrected OpenAPI document of the app (cached on the app)."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(title=app.title, version=app.version, description=app.description,
                           routes=app.routes)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    error_schema = ErrorPublic.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorPublic"] = error_schema
    components["securitySchemes"] = {BEARER: {
        "type": "http", "scheme": "bearer",
        "description": "Mã truy cập: `tamtu tokens create --user TÊN` hoặc trang quản trị",
    }}
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in operation_statuses(method, path):
                responses[str(status)] = {
                    "description": ERROR_MEANINGS[status],
                    "content": {"application/json": {"schema": ERROR_REF}},
                }
            if (method, path) not in PUBLIC:
                operation["security"] = [{BEARER: []}]
    app.openapi_schema = document
    return document


def allowed_methods(document: dict[str, Any], path: str) -> list[str]:
    """Return every documented method of the path's templates (for a 405's Allow header).

    Starlette names only the first route that matched the path, so a path served by two
    routes (GET and POST) would advertise one method.
    """
    paths = document.get("paths", {})
    if path in paths:
        # A literal path is its own resource, even where a template of the same depth (such
        # as "/alerts/{alert_id}") would also match it.
        return sorted(method.upper() for method in paths[path])
    methods: set[str] = set()
    for template, operations in paths.items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            methods.update(method.upper() for method in operations)
    return sorted(methods)
