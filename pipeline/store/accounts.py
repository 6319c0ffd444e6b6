"""Users, hashed access tokens, browser sessions and the append-only audit log."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from pipeline.store.database import is_read_only, utcnow
from pipeline.store.schema import api_tokens, audit_log, sessions, users


class SecurityStore:
    """Users, hashed access tokens, browser sessions and the append-only audit log."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def create_user(self, name: str, role: str, areas: Sequence[str]) -> int:
        """Insert a user and return its id."""
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.insert(users).returning(users.c.id),
                {"name": name, "role": role, "areas": list(areas), "created_at": utcnow()},
            )
            return int(result.scalar_one())

    def get_user(self, name: str) -> dict[str, Any] | None:
        """Return a user by name, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(users).where(users.c.name == name)).first()
        return dict(row._mapping) if row else None

    def list_users(self) -> list[dict[str, Any]]:
        """Return every user, by name."""
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(users).order_by(users.c.name))]

    def set_user_disabled(self, name: str, disabled: bool) -> bool:
        """Disable or enable a user; return False when the user does not exist."""
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(users).where(users.c.name == name).values(disabled=disabled)
            )
            return bool(result.rowcount)

    def update_user(self, name: str, role: str, areas: Sequence[str]) -> bool:
        """Change a user's role and area scope; return False when the user does not exist."""
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(users).where(users.c.name == name).values(role=role, areas=list(areas))
            )
            return bool(result.rowcount)

    def add_token(self, user_id: int, token_hash: str, prefix: str,
                  areas: Sequence[str] | None) -> int:
        """Store a token's hash and return its id."""
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.insert(api_tokens).returning(api_tokens.c.id),
                {"user_id": user_id, "token_hash": token_hash, "prefix": prefix,
                 "areas": list(areas) if areas is not None else None, "created_at": utcnow()},
            )
            return int(result.scalar_one())

    def token_owner(self, token_hash: str) -> dict[str, Any] | None:
        """Return token and user columns for a live token of an enabled user, or None."""
        query = (
            sa.select(
                api_tokens.c.id.label("token_id"), api_tokens.c.areas.label("token_areas"),
                users.c.id.label("user_id"), users.c.name, users.c.role, users.c.areas,
            )
            .join(users, users.c.id == api_tokens.c.user_id)
            .where(api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None),
                   users.c.disabled.is_(False))
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return dict(row._mapping) if row else None

    def list_tokens(self, user_id: int | None = None) -> list[dict[str, Any]]:
        """Return tokens (never their hashes' plain values), newest first."""
        query = (
            sa.select(api_tokens.c.id, api_tokens.c.prefix, api_tokens.c.areas,
                      api_tokens.c.created_at, api_tokens.c.revoked_at, users.c.name)
            .join(users, users.c.id == api_tokens.c.user_id)
            .order_by(api_tokens.c.id.desc())
        )
        if user_id is not None:
            query = query.where(api_tokens.c.user_id == user_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def revoke_token(self, token_id: int) -> bool:
        """Revoke a token and end its sessions; return False when it does not exist."""
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(api_tokens).where(api_tokens.c.id == token_id,
                                            api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            conn.execute(sa.delete(sessions).where(sessions.c.token_id == token_id))
            return bool(result.rowcount)

    def add_session(self, session_hash: str, token_id: int, csrf_token: str,
                    expires_at: datetime) -> None:
        """Store a browser session (its hash only)."""
        with self.engine.begin() as conn:
            conn.execute(sa.insert(sessions), {
                "session_hash": session_hash, "token_id": token_id, "csrf_token": csrf_token,
                "created_at": utcnow(), "expires_at": expires_at,
            })

    def session_owner(self, session_hash: str, now: datetime) -> dict[str, Any] | None:
        """Return the session's csrf token plus token and user columns, or None if expired."""
        query = (
            sa.select(
                sessions.c.csrf_token, api_tokens.c.id.label("token_id"),
                api_tokens.c.areas.label("token_areas"), users.c.id.label("user_id"),
                users.c.name, users.c.role, users.c.areas,
            )
            .join(api_tokens, api_tokens.c.id == sessions.c.token_id)
            .join(users, users.c.id == api_tokens.c.user_id)
            .where(sessions.c.session_hash == session_hash, sessions.c.expires_at > now,
                   api_tokens.c.revoked_at.is_(None), users.c.disabled.is_(False))
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return dict(row._mapping) if row else None

    def delete_session(self, session_hash: str) -> None:
        """End a browser session."""
        with self.engine.begin() as conn:
            conn.execute(sa.delete(sessions).where(sessions.c.session_hash == session_hash))

    def append_audit(self, entry: Mapping[str, Any]) -> None:
        """Append one audit entry (the log has no update or delete).

        On a read-only database the entry goes to the "tamtu.audit" log instead: reading stays
        possible and still leaves a trace (entries hold no text and no token).
        """
        if is_read_only(self.engine):
            logging.getLogger("tamtu.audit").warning(
                "audit %s", json.dumps({"at": utcnow().isoformat(), **entry}, default=str,
                                       ensure_ascii=False))
            return
        with self.engine.begin() as conn:
            conn.execute(sa.insert(audit_log), {"at": utcnow(), **entry})

    def audit_entries(self, *, user_name: str | None = None, limit: int = 100,
                      offset: int = 0) -> list[dict[str, Any]]:
        """Return audit entries, newest first."""
        query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit).offset(offset)
        if user_name:
            query = query.where(audit_log.c.user_name == user_name)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]
