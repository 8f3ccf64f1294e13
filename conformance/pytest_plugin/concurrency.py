"""`--concurrency N`: the items of a session decided side by side, pytest still in charge.

When the first requirement item is set up, every selected requirement item still to run goes to
the engine's scheduler (`conformance/engine/scheduler.py`), which decides them in a bounded pool
of threads, each target within its limit and the exclusive ones alone on their target. Each
item's setup then takes its verdict, already decided or decided meanwhile, and pytest goes on as
before: node IDs, `-k`, `--lf`, JUnit, the outcome derived from the verdict, the terminal order.

Stopping early (`-x`, `--maxfail`, `--stepwise`) and debugging (`--pdb`, `--trace`) keep the
sequential path, so a stop leaves exactly the requirements undecided that a sequential run would.
A pytest-xdist worker decides the items its controller has handed it so far, with its own pool.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from conformance.engine.runtime import Runtime
from conformance.engine.scheduler import Scheduler, concurrency
from conformance.engine.verdicts import Verdict
from conformance.pytest_plugin import xdist as parallel
from conformance.pytest_plugin.items import DECIDED, RequirementItem
from conformance.pytest_plugin.locks import guard

CONCURRENCY = "--concurrency"


def add_option(group: Any) -> None:
    group.addoption(
        CONCURRENCY,
        dest="concurrency",
        type=int,
        default=None,
        metavar="N",
        help="requirements decided at once per target, in threads of this process (1: one at a time; "
        "default: the config's `concurrency`, else 1 on the embedded servers and, against a --target, "
        "2 to 8 from its measured round trip)",
    )


def sequential_only(config: pytest.Config) -> str | None:
    """Why this session must decide one item at a time, if it must."""
    option = config.option
    if getattr(option, "maxfail", 0):
        return "-x/--maxfail"
    if getattr(option, "stepwise", False) or getattr(option, "stepwise_skip", False):
        return "--stepwise"
    if getattr(option, "usepdb", False) or getattr(option, "trace", False):
        return "--pdb/--trace"
    if getattr(option, "collectonly", False):
        return "--collect-only"
    return None


class Concurrency:
    """The plugin that hands a session's items to the scheduler and their verdicts back."""

    def __init__(self, config: pytest.Config, runtimes: list[Runtime]) -> None:
        given = config.getoption("concurrency")
        if given is not None and given < 1:
            raise pytest.UsageError(f"--concurrency must be at least 1, got {given}")
        self.config = config
        self.given = given
        self.runtimes = runtimes
        # Before the session, the bound; at the first item, each target's own (concurrency() reads
        # its measured round trip, known once the reachability probe has answered).
        self.limits = {id(runtime): concurrency(runtime, given) for runtime in runtimes}
        self.measured = False
        for runtime in runtimes:  # a check's own side-by-side requests stay within the same bound
            runtime.in_flight = self.limits[id(runtime)]
        self.scheduler: Scheduler | None = None
        if any(limit > 1 for limit in self.limits.values()) and sequential_only(config) is None:
            self.scheduler = Scheduler(self.limits, lambda r, s, target: guard(config, r, s, target))
            config.stash[DECIDED] = self.verdict_of

    def verdict_of(self, item: RequirementItem) -> Verdict | None:
        """The item's verdict from the pool (None: decide it in the item, sequentially)."""
        scheduler = self.scheduler
        if scheduler is None:
            return None
        if not self.measured:
            self.measured = True
            for runtime in self.runtimes:  # the scheduler reads this dict: set before its first task
                self.limits[id(runtime)] = concurrency(runtime, self.given, runtime.round_trip_ms())
        if not scheduler.knows(item.nodeid):
            scheduler.submit(
                scheduler.task(i.nodeid, i.runtime, i.requirement, n) for n, i in enumerate(self._upcoming(item))
            )
            if not scheduler.knows(item.nodeid):
                return None
        return scheduler.verdict(item.nodeid)

    def _upcoming(self, item: RequirementItem) -> list[RequirementItem]:
        """`item` and the requirement items after it that this process will run."""
        session = item.session
        if parallel.is_worker(self.config):
            later: list[pytest.Item] = parallel.queued(self.config, session)
        else:
            items = session.items
            later = items[items.index(item) + 1 :] if item in items else []
        return [item, *(i for i in later if isinstance(i, RequirementItem))]

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        try:
            return (yield)
        finally:
            if self.scheduler is not None:  # what was never asked for is dropped; running ones end
                self.scheduler.close()
