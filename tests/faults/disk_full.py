"""Run inside a private mount namespace: ingest into a full tmpfs, grow it, ingest again.

Usage: python -m tests.faults.disk_full MOUNT SOURCE RESULT. Writes what happened as JSON to
RESULT (outside the tmpfs, which goes away with the namespace); exit 3 when mounting fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.faults.helpers import ingest_command, run, run_statuses, stored_rows

SMALL = "1m"  # room for the schema and a few hundred petitions, not for the whole file
LARGE = "64m"


def main(mount: Path, source: Path, result: Path) -> int:
    """Fill a small tmpfs with an ingest, make it larger, ingest again; record the outcome."""
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SMALL}", "tmpfs", str(mount)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        print(mounted.stderr.strip(), file=sys.stderr)
        return 3
    env = dict(os.environ)
    url = env["TAMTU_DATABASE_URL"]
    full = run(ingest_command(source), env)
    stored_when_full = len(stored_rows(url))
    subprocess.run(["mount", "-o", f"remount,size={LARGE}", str(mount)], check=True)
    freed = run(ingest_command(source), env)
    outcome = {
        "full": {"returncode": full.returncode, "stderr": full.stderr},
        "stored_when_full": stored_when_full,
        "freed": {"returncode": freed.returncode, "stderr": freed.stderr},
        "rows": [external_id for external_id, _ in stored_rows(url)],
        "statuses": [status for status, _ in run_statuses(url)],
    }
    result.write_text(json.dumps(outcome, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
