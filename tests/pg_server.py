"""A throwaway PostgreSQL server for the test suite, started from the installed binaries."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries on this machine and no TAMTU_TEST_POSTGRES_URL given."""


def _bin_dir() -> Path:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        raise PostgresUnavailable(
            "PostgreSQL server binaries not found: install the 'postgresql' package "
            "(bash .ci/run does) or set TAMTU_TEST_POSTGRES_URL"
        )
    return Path(candidates[-1]).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """initdb + pg_ctl start in a temporary directory; stop() removes everything."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="tamtu-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        # PostgreSQL refuses to run as root: run it as the 'postgres' system user then.
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = "postgres"
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> str:
        """Start the server and return its SQLAlchemy URL."""
        self._run("initdb", "-D", str(self.data), "-U", "tamtu", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8")
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-o",
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "tamtu", "tamtu_test")
        return f"postgresql+psycopg://tamtu@127.0.0.1:{self.port}/tamtu_test"

    def stop(self) -> None:
        """Stop the server and delete its files."""
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
