"""A pytest plugin for benchmarks/throughput.py: when each item ran, on which worker.

Loaded with `-p timeline_plugin` (benchmarks/ on PYTHONPATH); writes one JSON line per item to
the file named by OAUTH2_BENCH_TIMELINE, so a run's wall time splits into worker start-up and the
phase where requirements are decided.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest

_STARTED = pytest.StashKey[float]()


def _write(row: dict[str, Any]) -> None:
    path = os.environ.get("OAUTH2_BENCH_TIMELINE")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(row) + "\n")


def pytest_runtest_setup(item: pytest.Item) -> None:
    item.stash[_STARTED] = time.time()


def pytest_runtest_teardown(item: pytest.Item) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    _write({"worker": worker, "id": item.nodeid, "start": item.stash.get(_STARTED, time.time()), "end": time.time()})
