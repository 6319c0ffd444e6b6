"""Shared pieces of the fault suite: the real `tamtu` command, a petition file, stored rows."""

from __future__ import annotations

import csv
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import sqlalchemy as sa

from pipeline.store import create_db_engine, ingest_runs, petitions

TAMTU = str(Path(sys.executable).parent / "tamtu")
SENDER = "Nguyễn Thị Hoa"
PHONE = "0912 345 678"
VILLAGES = ("thôn Tân Mỹ", "thôn Phúc Lâm", "thôn Gio Mỹ", "thôn Thủy Ba")
ISSUES = ("đường liên thôn sạt lở, xe không đi được", "trạm bơm hỏng, ruộng thiếu nước",
          "cấp đất ở chưa đúng đối tượng", "chậm chi trả tiền hỗ trợ hộ nghèo",
          "nước thải trại lợn chảy ra mương", "đèn đường tắt đã hai tháng")
# A line of a Python traceback, or a statement's parameters repeated by the database driver.
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\s+File \"|\[parameters:", re.M)


def write_petitions(path: Path, count: int) -> Path:
    """Write `count` distinct petitions (each names a sender and a phone) as a CSV file."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Số đơn", "Ngày nhận", "Địa bàn", "Nội dung", "Người gửi",
                         "Số điện thoại"])
        for i in range(count):
            village = VILLAGES[i % len(VILLAGES)]
            writer.writerow([
                f"PA-{i:05d}", f"{1 + i % 28:02d}/06/2025", f"{village}, xã Vĩnh Giang",
                f"Phản ánh số {i}: {ISSUES[i % len(ISSUES)]} ở {village}, "
                f"đề nghị xã kiểm tra (lần {i // len(ISSUES)}).",
                f"{SENDER} {i}", PHONE,
            ])
    return path


def environment(database_url: str, runs_dir: Path, **extra: str) -> dict[str, str]:
    """Return the environment of a `tamtu` process on that database, one worker, no debug file."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TAMTU_")}
    env.update({"TAMTU_DATABASE_URL": database_url, "TAMTU_RUNS_DIR": str(runs_dir),
                "TAMTU_INGEST_WORKERS": "1", "TAMTU_BATCH_SIZE": "40", **extra})
    return env


def ingest_command(*paths: Path) -> list[str]:
    """Return the command line of one ingest of the given files."""
    return [TAMTU, "ingest", *map(str, paths), "--json"]


def run(command: Sequence[str], env: dict[str, str], timeout: float = 240
        ) -> subprocess.CompletedProcess[str]:
    """Run a command to its end and return what it printed."""
    return subprocess.run(list(command), env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def stored_rows(database_url: str) -> list[tuple[str, int]]:
    """Return (external id, source row) of every stored petition."""
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as conn:
            return [(r.external_id, r.source_row) for r in conn.execute(
                sa.select(petitions.c.external_id, petitions.c.source_row))]
    finally:
        engine.dispose()


def run_statuses(database_url: str) -> list[tuple[str, str | None]]:
    """Return (status, failure) of every ingest run, oldest first."""
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as conn:
            return [(r.status, r.failure) for r in conn.execute(
                sa.select(ingest_runs.c.status, ingest_runs.c.failure)
                .order_by(ingest_runs.c.id))]
    finally:
        engine.dispose()


def assert_no_personal_data(output: str) -> None:
    """Fail when an error output holds a traceback, a statement's parameters or a sender."""
    assert not TRACEBACK.search(output), output[-2000:]
    for secret in (SENDER, PHONE, PHONE.replace(" ", ""), "Phản ánh số"):
        assert secret not in output, output[-2000:]


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(base: str, process: subprocess.Popen[bytes], *, seconds: float = 180
                       ) -> None:
    """Wait until a started server answers its health check; fail if it exits or is too slow."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{base}/api/v1/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert process.poll() is None, "the server stopped while starting"
        assert time.monotonic() < deadline, "the server did not start in time"
        time.sleep(0.2)


def namespace_command() -> list[str] | None:
    """Return a prefix that runs a command in a private mount namespace, or None."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    for prefix in ([unshare, "--mount"], [unshare, "--user", "--map-root-user", "--mount"]):
        probe = subprocess.run([*prefix, "true"], capture_output=True, check=False)
        if probe.returncode == 0:
            return prefix
    return None
