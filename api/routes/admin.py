"""Administration for admins: users, roles, area scopes, access tokens, the known places."""

from __future__ import annotations

from typing import Annotated, Literal

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from api.deps import EngineDep, GazetteerDep, RecordId
from api.schemas import UtcDateTime
from api.security import ROLE_NAMES, ROLES, Admin, SecurityError, create_token, create_user
from pipeline.store import SecurityStore
from pipeline.store.schema import daily_counts

router = APIRouter(prefix="/admin", tags=["admin"])

Role = Literal["viewer", "analyst", "officer", "admin"]
AreaList = Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]],
                     Field(max_length=100)]


class UserIn(BaseModel):
    """A new user: name, one role, the areas they may see (empty: everywhere)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    role: Role
    areas: AreaList = Field(default_factory=list)


class UserChange(BaseModel):
    """New role, areas or lock state of a user; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    areas: AreaList | None = None
    disabled: StrictBool | None = None


class UserPublic(BaseModel):
    """A user as the administration page shows it."""

    name: str
    role: str
    role_name: str
    areas: list[str]
    disabled: bool
    created_at: UtcDateTime
    tokens: int


class TokenIn(BaseModel):
    """Optional narrower areas for a new token."""

    model_config = ConfigDict(extra="forbid")

    areas: AreaList = Field(default_factory=list)


class TokenPublic(BaseModel):
    """A token as listed: never the token itself, only its first characters."""

    id: int
    user: str
    prefix: str
    areas: list[str] | None
    created_at: UtcDateTime
    revoked_at: UtcDateTime | None


class NewToken(TokenPublic):
    """A token just created: the one time its full value is shown."""

    token: str


def _user_public(row: dict[str, object], tokens: int) -> UserPublic:
    role = str(row["role"])
    return UserPublic(name=str(row["name"]), role=role, role_name=ROLE_NAMES.get(role, role),
                      areas=list(row["areas"] or []),  # type: ignore[call-overload]
                      disabled=bool(row["disabled"]),
                      created_at=row["created_at"],  # type: ignore[arg-type]
                      tokens=tokens)


def _live_tokens(store: SecurityStore) -> dict[str, int]:
    counts: dict[str, int] = {}
    for token in store.list_tokens():
        if token["revoked_at"] is None:
            counts[token["name"]] = counts.get(token["name"], 0) + 1
    return counts


@router.get("/users", response_model=list[UserPublic], summary="Người dùng (quản trị)")
def list_users(engine: EngineDep, _principal: Admin) -> list[UserPublic]:
    """Return every user with role, areas, lock state and number of live tokens."""
    store = SecurityStore(engine)
    live = _live_tokens(store)
    return [_user_public(u, live.get(u["name"], 0)) for u in store.list_users()]


@router.post("/users", response_model=UserPublic, status_code=201, summary="Thêm người dùng")
def add_user(body: UserIn, engine: EngineDep, _principal: Admin) -> UserPublic:
    """Create a user; give them an access token next."""
    try:
        create_user(engine, body.name, body.role, body.areas)
    except SecurityError as error:
        raise HTTPException(409 if "đã có" in str(error) else 422, str(error)) from error
    row = SecurityStore(engine).get_user(body.name.strip())
    assert row is not None
    return _user_public(row, 0)


@router.put("/users/{name}", response_model=UserPublic, summary="Đổi vai trò, địa bàn, khóa")
def change_user(name: str, body: UserChange, engine: EngineDep, principal: Admin) -> UserPublic:
    """Change a user's role or areas, lock or unlock them (not one's own role or lock)."""
    store = SecurityStore(engine)
    row = store.get_user(name)
    if row is None:
        raise HTTPException(404, f"Không có người dùng '{name}'")
    if name == principal.name and (body.disabled or (body.role and body.role != row["role"])):
        raise HTTPException(409, "Không tự khóa hay tự đổi vai trò của chính mình; hãy nhờ một "
                            "quản trị viên khác")
    role = body.role or row["role"]
    if role not in ROLES:
        raise HTTPException(422, f"vai trò '{role}' không có")
    areas = [a.strip() for a in body.areas if a.strip()] if body.areas is not None else (
        row["areas"] or [])
    store.update_user(name, role, areas)
    if body.disabled is not None:
        store.set_user_disabled(name, body.disabled)
    updated = store.get_user(name)
    assert updated is not None
    return _user_public(updated, _live_tokens(store).get(name, 0))


@router.get("/tokens", response_model=list[TokenPublic], summary="Các mã truy cập")
def list_tokens(engine: EngineDep, _principal: Admin) -> list[TokenPublic]:
    """Return every token (prefix only), newest first."""
    return [TokenPublic(user=t["name"], **{k: t[k] for k in (
        "id", "prefix", "areas", "created_at", "revoked_at")})
        for t in SecurityStore(engine).list_tokens()]


@router.post("/users/{name}/tokens", response_model=NewToken, status_code=201,
             summary="Cấp mã truy cập (chỉ hiện một lần)")
def add_token(name: str, body: TokenIn, engine: EngineDep, _principal: Admin) -> NewToken:
    """Create a token for the user; only its hash is kept, so it is shown this once."""
    try:
        token = create_token(engine, name, body.areas or None)
    except SecurityError as error:
        status = 404 if "không có người dùng" in str(error) else 422
        raise HTTPException(status, str(error)) from error
    listed = next(t for t in SecurityStore(engine).list_tokens()
                  if t["name"] == name and token.startswith(t["prefix"]))
    return NewToken(token=token, user=name, **{k: listed[k] for k in (
        "id", "prefix", "areas", "created_at", "revoked_at")})


@router.delete("/tokens/{token_id}", status_code=204, summary="Thu hồi mã truy cập")
def revoke(token_id: RecordId, engine: EngineDep, _principal: Admin) -> Response:
    """Revoke a token and end its browser sessions."""
    if not SecurityStore(engine).revoke_token(token_id):
        raise HTTPException(404, f"Không có mã truy cập số {token_id} đang dùng")
    return Response(status_code=204)


@router.get("/places", summary="Các địa bàn đã biết (danh bạ thôn và dữ liệu đã nhập)")
def places(engine: EngineDep, gazetteer: GazetteerDep, _principal: Admin) -> dict[str, list[str]]:
    """Return communes and villages to pick areas from, as "xã …" and "thôn …, xã …"."""
    found: set[tuple[str, str]] = set()
    if gazetteer is not None:
        found.update((v.village, v.commune) for v in gazetteer.villages)
    query = sa.select(daily_counts.c.village, daily_counts.c.commune).distinct()
    with engine.connect() as conn:
        found.update((v or "", c or "") for v, c in conn.execute(query))
    communes = sorted({c for _, c in found if c})
    villages = sorted({f"{v}, {c}" for v, c in found if v and c})
    return {"communes": communes, "villages": villages}
