"""Probe 12: the first calls into underthesea from many threads at once all succeed.

underthesea publishes a model before it is loaded; threads that called meanwhile failed with
"'NoneType' object has no attribute ...". The first load must happen in a fresh process, so
the check runs in one.
"""

from __future__ import annotations

import json
import subprocess
import sys

FIRST_CALLS = r"""
import json, threading
from pipeline.text.redact import find_pii
from pipeline.text.tokenize import word_tokens

THREADS = 12
start = threading.Barrier(THREADS)
errors, results = [], []

def call(number):
    start.wait()
    try:
        if number % 2:
            results.append(len(word_tokens(f"Đường liên thôn số {number} bị sạt lở nặng.")))
        else:
            results.append(len(find_pii(f"Ông Nguyễn Văn Hùng {number} ở thôn Tân Mỹ gửi đơn.")))
    except Exception as error:
        errors.append(f"{type(error).__name__}: {error}")

threads = [threading.Thread(target=call, args=(n,)) for n in range(THREADS)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps({"errors": errors, "results": results}))
"""


def test_first_calls_from_twelve_threads_at_once_all_succeed() -> None:
    done = subprocess.run([sys.executable, "-c", FIRST_CALLS], capture_output=True, text=True,
                          timeout=300, check=True)
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["errors"] == []
    assert len(outcome["results"]) == 12 and all(count > 0 for count in outcome["results"])
