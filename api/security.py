"""Accounts, tokens, roles, area scopes, redaction policy, audit log and HTTP hardening."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import sqlite3
import threading
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.store import SecurityStore, utcnow
from pipeline.text.places import Gazetteer, GazetteerError, load_gazetteer
from pipeline.text.redact import redact, redact_record
from pipeline.text.scopes import AreaScope, PlaceKey, ScopeError, scope_key

ROLES: tuple[str, ...] = ("viewer", "analyst", "officer", "admin")
ROLE_NAMES = {"viewer": "xem số liệu", "analyst": "phân tích", "officer": "cán bộ phụ trách",
              "admin": "quản trị"}
SESSION_COOKIE = "tamtu_session"
SESSION_HOURS = 12
TOKEN_PREFIX = "tt_"
log = logging.getLogger("tamtu.api")


class SecurityError(ValueError):
    """A user or token command that cannot be carried out (unknown user, bad role…)."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _checked_areas(areas: Sequence[str] | None, gazetteer: Gazetteer | None) -> list[str]:
    """Return the area texts, each checked to resolve to a place (SecurityError otherwise)."""
    cleaned = [a.strip() for a in areas or [] if a.strip()]
    for area in cleaned:
        try:
            scope_key(area, gazetteer)
        except ScopeError as error:
            raise SecurityError(str(error)) from error
    return cleaned


def create_user(engine: Engine, name: str, role: str, areas: Sequence[str] | None = None,
                *, gazetteer: Gazetteer | None = None) -> int:
    """Return the id of a new user with one role and an optional area scope.

    Each area is resolved like a petition's place (with the gazetteer when given); the stored
    text is resolved again on every request, so a scope follows gazetteer corrections.
    """
    name = name.strip()
    if not name:
        raise SecurityError("tên người dùng trống")
    if role not in ROLES:
        raise SecurityError(f"vai trò '{role}' không có; chọn một trong: {', '.join(ROLES)}")
    store = SecurityStore(engine)
    if store.get_user(name) is not None:
        raise SecurityError(f"đã có người dùng '{name}'")
    return store.create_user(name, role, _checked_areas(areas, gazetteer))


def create_token(engine: Engine, user_name: str, areas: Sequence[str] | None = None,
                 *, gazetteer: Gazetteer | None = None) -> str:
    """Return a new access token for the user (shown once; only its hash is stored)."""
    store = SecurityStore(engine)
    user = store.get_user(user_name)
    if user is None:
        raise SecurityError(f"không có người dùng '{user_name}'")
    if user["disabled"]:
        raise SecurityError(f"người dùng '{user_name}' đang bị khóa")
    areas = _checked_areas(areas, gazetteer) or None
    if areas is not None and not _within(areas, user["areas"], gazetteer):
        raise SecurityError(
            f"mã truy cập chỉ được hẹp hơn phạm vi của người dùng ({', '.join(user['areas'])}); "
            "mỗi địa bàn của mã phải nằm trong một địa bàn của người dùng, ví dụ "
            f"\"thôn …, {user['areas'][0]}\""
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    store.add_token(user["id"], _hash(token), token[:10], areas)
    return token


@dataclass(frozen=True)
class Principal:
    """Who is calling: user, role, the areas they may see (None = everywhere).

    `scope` is the identity of those areas (resolved places); every check uses it, never the
    area texts, so "thôn Thủy Ba" does not open "thôn Thủy Ba Đông".
    """

    name: str
    role: str
    areas: tuple[str, ...] | None
    token_id: int
    csrf_token: str | None = None
    scope: AreaScope | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.areas is not None and self.scope is None:
            object.__setattr__(self, "scope", AreaScope.from_areas(self.areas, None))

    def at_least(self, role: str) -> bool:
        """Return True when this role includes the given one."""
        return ROLES.index(self.role) >= ROLES.index(role)

    def may_see_area(self, area: str | None) -> bool:
        """Return True when an area (as on a hot spot or an alert) resolves inside the scope."""
        return self.scope is None or self.scope.contains_area(area)

    def may_see_row(self, row: Mapping[str, Any]) -> bool:
        """Return True when a stored petition's resolved place lies inside the scope."""
        return self.scope is None or self.scope.contains_row(row)

    def may_store(self, place: PlaceKey) -> bool:
        """Return True when a petition resolved to this place may be stored by the caller."""
        return self.scope is None or self.scope.contains(place)

    def places(self) -> tuple[tuple[str | None, str | None, str | None], ...] | None:
        """Return the scope's places as (village, commune, province) for a query; None = all."""
        return None if self.scope is None else tuple(p.levels() for p in self.scope.places)


def _within(token_areas: Sequence[str], user_areas: Sequence[str],
            gazetteer: Gazetteer | None) -> bool:
    """Return True when every token area is inside one of the user's areas (or user has none).

    Both sides are resolved to places: "thôn Tân Mỹ, xã Vĩnh Giang" lies inside
    "xã Vĩnh Giang"; "tỉnh Quảng Trị" does not, and "thôn Thủy Ba Đông" is not in "thôn Thủy Ba".
    """
    if not user_areas:
        return True
    return AreaScope.from_areas(user_areas, gazetteer).covers(
        AreaScope.from_areas(token_areas, gazetteer))


def _principal(row: Mapping[str, Any], gazetteer: Gazetteer | None, csrf: str | None = None
               ) -> Principal:
    # A token may only narrow its user's scope; anything else falls back to the user's areas.
    token_areas = row["token_areas"]
    narrower = token_areas is not None and _within(token_areas, row["areas"] or [], gazetteer)
    scope = token_areas if narrower else row["areas"]
    areas = tuple(scope) if scope else None
    return Principal(row["name"], row["role"], areas, row["token_id"], csrf,
                     AreaScope.from_areas(areas, gazetteer) if areas is not None else None)


def principal_for_token(engine: Engine, token: str, gazetteer: Gazetteer | None = None
                        ) -> Principal | None:
    """Return the principal of a live token, or None; scopes resolve with the gazetteer."""
    row = SecurityStore(engine).token_owner(_hash(token))
    return _principal(row, gazetteer) if row else None


def request_gazetteer(request: Request) -> Gazetteer | None:
    """Return the gazetteer scopes are resolved with (the one petitions are placed with)."""
    directory = request.app.state.settings.gazetteer_dir
    if not directory.exists():
        return None
    try:
        return load_gazetteer(directory)
    except GazetteerError as error:
        # Scopes resolved without the villages would be wider or narrower than meant.
        raise HTTPException(503, f"Danh bạ thôn bị lỗi, chưa kiểm tra được phạm vi: {error}"
                            ) from error


def open_session(engine: Engine, principal: Principal) -> tuple[str, str]:
    """Return (session id for the cookie, CSRF token) of a new browser session."""
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    SecurityStore(engine).add_session(_hash(session_id), principal.token_id, csrf,
                                      utcnow() + timedelta(hours=SESSION_HOURS))
    return session_id, csrf


def close_session(engine: Engine, session_id: str) -> None:
    """End a browser session."""
    SecurityStore(engine).delete_session(_hash(session_id))


class RateLimiter:
    """At most `limit` requests per token in any `window` seconds.

    With a `path`, the requests are counted in a small SQLite file that every server process
    of the machine shares (`tamtu serve --workers N`), so the limit holds across processes;
    without one, in this process's memory. If the file cannot be used (disk full, locked for
    too long) the process falls back to counting in memory rather than refusing everyone.
    """

    def __init__(self, limit: int, window: float = 60.0, path: Path | None = None):
        self.limit = limit
        self.window = window
        self.path = path
        self._hits: dict[int, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with closing(self._connect()) as conn:
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute("CREATE TABLE IF NOT EXISTS hits (token INTEGER, at REAL)")
                    conn.execute("CREATE INDEX IF NOT EXISTS hits_token ON hits (token, at)")
            except (OSError, sqlite3.Error) as error:
                log.warning("rate limit file %s unusable (%s): counting per process", path,
                            type(error).__name__)
                self.path = None

    def _connect(self) -> sqlite3.Connection:
        assert self.path is not None
        return sqlite3.connect(self.path, timeout=5, isolation_level=None)

    def allow(self, key: int) -> bool:
        """Return True and count the request when the key is under its limit."""
        if self.path is not None:
            try:
                return self._allow_shared(key)
            except sqlite3.Error as error:
                log.warning("rate limit file unusable (%s): counting per process",
                            type(error).__name__)
                self.path = None
        now = time.monotonic()
        with self._lock:
            hits = self._hits[key]
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True

    def _allow_shared(self, key: int) -> bool:
        now = time.time()  # the wall clock: the one every process reads the same
        with closing(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("DELETE FROM hits WHERE token = ? AND at <= ?",
                             (key, now - self.window))
                (count,) = conn.execute("SELECT count(*) FROM hits WHERE token = ?",
                                        (key,)).fetchone()
                allowed = count < self.limit
                if allowed:
                    conn.execute("INSERT INTO hits VALUES (?, ?)", (key, now))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return bool(allowed)


_UNAUTHORISED = HTTPException(
    401, "Cần đăng nhập: gửi 'Authorization: Bearer <mã truy cập>'",
    headers={"WWW-Authenticate": "Bearer"},
)


def current_principal(request: Request) -> Principal:
    """Return the caller from the Bearer token or the session cookie; 401 otherwise."""
    engine: Engine = request.app.state.engine
    header = request.headers.get("authorization", "")
    principal: Principal | None = None
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _UNAUTHORISED
        principal = principal_for_token(engine, token.strip(), request_gazetteer(request))
        if principal is None:
            raise HTTPException(401, "Mã truy cập không đúng, đã bị thu hồi hoặc tài khoản bị khóa",
                                headers={"WWW-Authenticate": "Bearer"})
    elif cookie := request.cookies.get(SESSION_COOKIE):
        row = SecurityStore(engine).session_owner(_hash(cookie), utcnow())
        if row is not None:
            principal = _principal(row, request_gazetteer(request), row["csrf_token"])
            if request.method not in ("GET", "HEAD", "OPTIONS") and not secrets.compare_digest(
                request.headers.get("x-csrf-token", ""), principal.csrf_token or ""
            ):
                raise HTTPException(403, "Thiếu hoặc sai mã chống giả mạo (X-CSRF-Token)")
    if principal is None:
        raise _UNAUTHORISED
    limiter: RateLimiter = request.app.state.rate_limiter
    if not limiter.allow(principal.token_id):
        raise HTTPException(429, "Quá nhiều yêu cầu; vui lòng thử lại sau ít phút",
                            headers={"Retry-After": "60"})
    request.state.principal = principal
    return principal


def require(role: str) -> Callable[..., Principal]:
    """Return a dependency that lets through callers with at least this role (403 otherwise)."""

    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.at_least(role):
            raise HTTPException(
                403, f"Vai trò '{principal.role}' không được dùng chức năng này "
                f"(cần '{role}' trở lên)")
        return principal

    return check


Viewer = Annotated[Principal, Depends(require("viewer"))]
Analyst = Annotated[Principal, Depends(require("analyst"))]
Officer = Annotated[Principal, Depends(require("officer"))]
Admin = Annotated[Principal, Depends(require("admin"))]


def check_area(principal: Principal, area: str | None) -> None:
    """Raise 403 when a requested area lies outside the principal's scope."""
    if area and principal.scope is not None and not principal.may_see_area(area):
        raise HTTPException(403, f"Không được xem địa bàn '{area}'")


def audit_records(request: Request, ids: Iterable[int]) -> None:
    """Remember which record ids this request returned, for the audit log."""
    request.state.audit_ids = [int(i) for i in ids]


# ---------------------------------------------------------------------- redaction policy
def sees_clear_text(principal: Principal) -> bool:
    """Return True for roles allowed to read full texts and senders (officer, admin)."""
    return principal.at_least("officer")


def petition_for(principal: Principal, row: Mapping[str, Any]) -> dict[str, Any]:
    """Return a petition as this role may see it, with its extra columns as `extra_columns`."""
    if sees_clear_text(principal):
        view = dict(row)
    else:
        # Analysts get texts with personal data replaced; every sender is personal data to
        # them, a denouncer's identity is secret by law, and file names, office numbers and
        # extra columns are free text typed by people, so they are hidden as well.
        view = redact_record(row, hide_sender=True, use_ner=True, hide_metadata=True)
    extra = view.get("extra")
    columns = extra.get("columns") if isinstance(extra, Mapping) else None
    view["extra_columns"] = dict(columns) if isinstance(columns, Mapping) else {}
    return view


def public_text(principal: Principal, text: str) -> str:
    """Return an explanation or label with personal data removed for roles below officer."""
    return text if sees_clear_text(principal) else redact(text)


# ---------------------------------------------------------------------- ASGI middleware
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
     b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
)


class HardeningMiddleware:
    """Security headers on every response, a request body size limit, no caching of API data."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = 10 * 1024 * 1024):
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await _too_large(send, self.max_body_bytes)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                raise _BodyTooLarge
            return message

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(SECURITY_HEADERS)
                if scope["path"].startswith("/api/"):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except _BodyTooLarge:
            await _too_large(send, self.max_body_bytes)


class _BodyTooLarge(Exception):
    """The request body went past the limit while it was being read."""


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({"error": f"Dữ liệu gửi lên quá lớn (tối đa {limit // 1024 // 1024} MB)"},
                      ensure_ascii=False)
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": body.encode()})


async def audit_middleware(request: Request, call_next: Callable[[Request], Awaitable[Any]]
                           ) -> Any:
    """Append an audit entry for every authenticated API request (never tokens or texts)."""
    response = await call_next(request)
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is not None and request.url.path.startswith("/api/"):
        client = request.client.host if request.client else None
        SecurityStore(request.app.state.engine).append_audit({
            "user_name": principal.name, "role": principal.role, "method": request.method,
            "endpoint": request.url.path, "status": response.status_code,
            "record_ids": getattr(request.state, "audit_ids", []), "client": client,
        })
    return response

