"""Twenty clients at once on a server that has just started (`tamtu serve` on 127.0.0.1).

Probe 12: on a cold server, concurrent first calls into underthesea's tokenizer failed with 500.
Bounded: 20 clients × 6 requests, each client writes two petitions and reads, searches and
classifies. Every request must succeed and the database must hold exactly the acknowledged
petitions; the server's log holds no traceback and no petition text.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.security import create_token, create_user
from pipeline.store import create_db_engine, migrate
from tests.faults.helpers import (
    ISSUES,
    TAMTU,
    VILLAGES,
    assert_no_personal_data,
    environment,
    free_port,
    stored_rows,
    wait_until_healthy,
)

pytestmark = pytest.mark.fault

CLIENTS = 20
REQUEST_TIMEOUT = 120.0


@pytest.fixture
def cold_server(tmp_path: Path) -> Iterator[tuple[str, str, str, subprocess.Popen[bytes]]]:
    url = f"sqlite:///{tmp_path / 'tamtu.db'}"
    engine = create_db_engine(url)
    migrate(engine)
    create_user(engine, "can-bo", "officer")
    token = create_token(engine, "can-bo")
    engine.dispose()
    port = free_port()
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [TAMTU, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=environment(url, tmp_path / "runs"), stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        # Health only: nothing else has touched the models or the database yet.
        wait_until_healthy(base, process)
        yield base, token, url, process
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


def _petition(client: int, n: int) -> dict[str, str]:
    village = VILLAGES[(client + n) % len(VILLAGES)]
    return {"text": f"Khách {client}-{n}: {ISSUES[(client * 2 + n) % len(ISSUES)]} ở {village}, "
                    "đề nghị xã sớm giải quyết cho bà con.",
            "area": f"{village}, xã Vĩnh Giang", "received_at": "2025-06-10",
            "sender_name": f"Trần Văn Bình {client}", "sender_contact": "0912 345 678"}


def _client(base: str, token: str, number: int, start: threading.Barrier,
            outcomes: list[tuple[str, int | str]]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"{base}/api/v1", headers=headers,
                      timeout=REQUEST_TIMEOUT) as http:
        start.wait()
        steps = [
            ("POST /petitions", lambda: http.post("/petitions", json=_petition(number, 0))),
            ("POST /classify", lambda: http.post("/classify", json={
                "text": f"Khách {number} hỏi về {ISSUES[number % len(ISSUES)]}"})),
            ("GET /petitions?q", lambda: http.get("/petitions", params={"q": "sạt lở"})),
            ("POST /petitions", lambda: http.post("/petitions", json=_petition(number, 1))),
            ("GET /hotspots", lambda: http.get("/hotspots")),
            ("GET /trends", lambda: http.get("/trends")),
        ]
        for name, call in steps:
            try:
                response = call()
            except httpx.HTTPError as error:
                outcomes.append((name, type(error).__name__))
                continue
            stored = (response.json().get("stored", 0)
                      if name.startswith("POST /petitions") and response.status_code == 201
                      else 0)
            outcomes.append((f"{name} stored" if stored else name, response.status_code))


def test_twenty_clients_on_a_cold_server_get_no_error_and_every_write_is_stored(
    cold_server: tuple[str, str, str, subprocess.Popen[bytes]], tmp_path: Path,
) -> None:
    base, token, url, _ = cold_server
    outcomes: list[tuple[str, int | str]] = []
    start = threading.Barrier(CLIENTS)
    threads = [threading.Thread(target=_client, args=(base, token, n, start, outcomes))
               for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=6 * REQUEST_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads)

    assert len(outcomes) == CLIENTS * 6
    errors = [(name, status) for name, status in outcomes
              if not isinstance(status, int) or not 200 <= status < 300]
    assert errors == []
    acknowledged = sum(name == "POST /petitions stored" for name, _ in outcomes)
    assert acknowledged == 2 * CLIENTS
    assert len(stored_rows(url)) == acknowledged
    log = (tmp_path / "server.log").read_text(encoding="utf-8")
    assert_no_personal_data(log)
    assert "Trần Văn Bình" not in log and "Khách" not in log
