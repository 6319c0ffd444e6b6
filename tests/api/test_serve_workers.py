"""`tamtu serve --workers 2`: a real server with two processes shares one rate limit."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.security import create_token, create_user
from pipeline.store import create_db_engine, migrate
from tests.faults.helpers import wait_until_healthy

LIMIT = 7


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str, int]]:
    url = f"sqlite:///{tmp_path / 'tamtu.db'}"
    engine = create_db_engine(url)
    migrate(engine)
    create_user(engine, "canbo", "admin")
    token = create_token(engine, "canbo")
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "TAMTU_DATABASE_URL": url, "TAMTU_RUNS_DIR": str(tmp_path / "runs"),
           "TAMTU_RATE_LIMIT_PER_MINUTE": str(LIMIT)}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "tamtu"), "serve", "--workers", "2",
         "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, process, seconds=120)
        yield base, token, process.pid
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_two_server_processes_share_one_rate_limit(server: tuple[str, str, int]) -> None:
    base, token, pid = server
    # Both worker processes are up (uvicorn's supervisor forks them).
    deadline = time.monotonic() + 60
    while len(_children(pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.3)
    assert len(_children(pid)) >= 2
    statuses = []
    for _ in range(LIMIT + 5):
        # A new connection per request: the supervisor's socket hands them to either process.
        response = httpx.get(base + "/api/v1/metrics",
                             headers={"Authorization": f"Bearer {token}"}, timeout=60)
        statuses.append(response.status_code)
    assert statuses.count(200) == LIMIT
    assert statuses[LIMIT:] == [429] * 5
    assert "Quá nhiều yêu cầu" in response.json()["error"]
