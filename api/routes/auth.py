"""Sign-in for the dashboard (session cookie + CSRF token), who-am-I, taxonomy, audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import EngineDep
from api.schemas import UtcDateTime
from api.security import (
    ROLE_NAMES,
    SESSION_COOKIE,
    SESSION_HOURS,
    Admin,
    Principal,
    Viewer,
    close_session,
    open_session,
    principal_for_token,
)
from pipeline.store import SecurityStore
from pipeline.taxonomy import default_taxonomy

router = APIRouter(tags=["auth"])


class SessionIn(BaseModel):
    """The access token printed by `tamtu tokens create`."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=200)


class MePublic(BaseModel):
    """The signed-in user."""

    user: str
    role: str
    role_name: str
    areas: list[str] | None
    csrf_token: str | None = None


def _me(principal: Principal, csrf: str | None) -> MePublic:
    return MePublic(user=principal.name, role=principal.role,
                    role_name=ROLE_NAMES[principal.role],
                    areas=list(principal.areas) if principal.areas is not None else None,
                    csrf_token=csrf)


@router.post("/auth/session", response_model=MePublic, summary="Đăng nhập bằng mã truy cập")
def sign_in(body: SessionIn, request: Request, response: Response, engine: EngineDep) -> MePublic:
    """Open a browser session: HttpOnly SameSite=Strict cookie, CSRF token in the body."""
    principal = principal_for_token(engine, body.token.strip())
    if principal is None:
        raise HTTPException(401, "Mã truy cập không đúng, đã bị thu hồi hoặc tài khoản bị khóa")
    session_id, csrf = open_session(engine, principal)
    response.set_cookie(
        SESSION_COOKIE, session_id, max_age=SESSION_HOURS * 3600, httponly=True,
        samesite="strict", secure=request.url.scheme == "https", path="/",
    )
    request.state.principal = principal
    return _me(principal, csrf)


@router.get("/auth/me", response_model=MePublic, summary="Người đang đăng nhập")
def me(principal: Viewer) -> MePublic:
    """Return the caller (with the CSRF token of a browser session)."""
    return _me(principal, principal.csrf_token)


@router.post("/auth/logout", status_code=204, summary="Đăng xuất")
def sign_out(request: Request, principal: Viewer, engine: EngineDep) -> Response:
    """End the browser session."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        close_session(engine, cookie)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/taxonomy", summary="Danh mục lĩnh vực và dấu hiệu")
def taxonomy(_principal: Viewer) -> dict[str, Any]:
    """Return topic codes with Vietnamese names and sensitive flags, and the signals."""
    tax = default_taxonomy()
    return {
        "topics": [{"code": t.code, "name": t.name, "sensitive": t.sensitive}
                   for t in tax.topics],
        "other": {"code": tax.other.code, "name": tax.other.name},
        "signals": [{"code": s.code, "name": s.name} for s in tax.signals],
    }


class AuditPublic(BaseModel):
    """One audit entry."""

    id: int
    at: UtcDateTime
    user_name: str | None
    role: str | None
    method: str
    endpoint: str
    status: int
    record_ids: list[int]
    client: str | None


@router.get("/audit", response_model=list[AuditPublic], summary="Nhật ký truy cập (quản trị)")
def audit(
    _principal: Admin,
    engine: EngineDep,
    user: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[AuditPublic]:
    """Return audit entries, newest first."""
    rows = SecurityStore(engine).audit_entries(user_name=user, limit=limit, offset=offset)
    return [AuditPublic(**r) for r in rows]
