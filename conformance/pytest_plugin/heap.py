"""The heap that outlives the run, kept out of the garbage collector's way while requirements are decided.

By the time a session starts, this process holds everything imports and configuration made: pytest,
Hypothesis, openapi-core's compiled specs, the plan. None of it becomes garbage during the run, yet
each full collection walks all of it, and Hypothesis runs one (`register_random` calls
`gc.collect()`) in every thread that first runs a property. Measured against the yixin reference
server (benchmarks/README.md): 0.4-0.8 s of a 3-5 s session went to the collector; with that heap
frozen, 0.1-0.2 s.

`gc.freeze()` moves every object tracked so far to a permanent generation that collections skip
(what the Python docs recommend before a fork, and long-running servers do after start-up), and
`gc.unfreeze()` hands them back when the session ends. Nothing is collected less than it would
be: objects made during the run are collected as usual, and what was frozen is examined again
after the run. A process whose heap is already frozen (by its owner) is left as it is.
"""

from __future__ import annotations

import gc

import pytest


class FrozenHeap:
    """Freezes the heap at session start and unfreezes it at unconfigure, if it froze it."""

    def __init__(self) -> None:
        self.froze = False

    @pytest.hookimpl(trylast=True)  # after every plugin's own session start (the reachability probe)
    def pytest_sessionstart(self) -> None:
        if gc.isenabled() and gc.get_freeze_count() == 0:
            gc.freeze()
            self.froze = True

    def pytest_unconfigure(self) -> None:
        if self.froze:
            gc.unfreeze()
            self.froze = False
