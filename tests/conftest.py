"""Shared fixtures: settings, stores on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import settings as hypothesis_settings

from pipeline.config import Settings
from pipeline.store import PetitionStore, create_db_engine, metadata, migrate
from tests.pg_server import PostgresServer

# Tests never assert on timings: hypothesis's per-example deadline (200 ms) only made property
# tests fail on a busy machine. Loaded here, before any test module is imported.
hypothesis_settings.register_profile("tamtu", deadline=None)
hypothesis_settings.load_profile("tamtu")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server: TAMTU_TEST_POSTGRES_URL, or one started for this session."""
    given = os.environ.get("TAMTU_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.stop()


def _reset(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    url: str = request.getfixturevalue("postgres_url")
    engine = create_db_engine(url)
    migrate(engine)
    _reset(engine)
    engine.dispose()
    yield url


@pytest.fixture
def store(db_url: str) -> Iterator[PetitionStore]:
    """A PetitionStore on a migrated empty database (SQLite and PostgreSQL)."""
    engine = create_db_engine(db_url)
    migrate(engine)
    yield PetitionStore(engine)
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Settings pointing at the test database and a temporary runs directory."""
    return Settings(database_url=db_url, runs_dir=tmp_path / "runs")


def sign_in(client: object, db_url: str, role: str = "admin", areas: list[str] | None = None,
            name: str | None = None) -> str:
    """Create a user with a token and make the test client send it; return the token."""
    from api.security import create_token, create_user

    engine = create_db_engine(db_url)
    migrate(engine)
    user = name or f"{role}-{len(areas or [])}"
    create_user(engine, user, role, areas)
    token = create_token(engine, user)
    engine.dispose()
    client.headers["Authorization"] = f"Bearer {token}"  # type: ignore[attr-defined]
    return token
