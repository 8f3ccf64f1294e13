"""Deciding independent requirements concurrently, in one process, within a per-target limit.

A latency-bound run spends almost all its time waiting for answers, so requirements that do not
depend on each other are decided side by side, as a load tool keeps many requests in flight.

Why threads, not an event loop: every check is synchronous httpx code (and Hypothesis drives the
properties synchronously); an event loop would mean rewriting all of them, and threads overlap
the waiting just as well. The GIL runs the CPU work one thread at a time, which is why the
embedded reference servers (CPU-bound, in this process) gain little (see benchmarks/README.md).

What keeps a concurrent run identical to a sequential one:

* **Exclusivity**, from the check's declared traits (`plan.needs_target_alone`): a requirement that
  moves the target's clock or needs the target alone runs with nothing else of its target (per
  target URL, so the clock of each embedded profile is its own). It also keeps its place in
  pytest's order: it starts once everything before it on its target is done, and nothing after it
  starts before it ends. Each requirement is then decided on a target whose clock moved exactly as
  in a sequential run (a clock moved 32 days on, or back by a mutant's bogus lifetime, changes
  what later requirements see). Between two exclusive requirements, the rest run side by side,
  the heaviest first.
* **State**: each thread gets its own sessions (`Runtime.session` is per thread: a session keeps
  the last request's parameters and what it learned); the budget and rate, the breaker, the clock
  offset, the masker and the validator are shared and locked. Evidence is recorded through a
  context variable that `decide` sets in the deciding thread itself.
* **Interference**: requirements are independent only as far as the target keeps them apart (a
  target that ends every token when one is destroyed, or keeps one token per client, would fail a
  requirement that merely ran beside another). Any verdict other than pass that was decided beside
  another requirement of its target is decided once more, alone, and that verdict is kept
  (`Scheduler._confirm`): a certified target costs nothing more, a failing one a few requests.
* **Verdicts**: only `verdicts.decide` makes them, here in a pool thread; the pytest item takes its
  verdict when its own setup runs, so pytest still reports, stops and orders everything.
"""

from __future__ import annotations

import ast
import contextlib
import math
import threading
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

from conformance.engine.plan import needs_target_alone, traits_of
from conformance.engine.runtime import Runtime
from conformance.engine.verdicts import Status, Verdict, decide
from conformance.model.spec import Requirement

# Requirements in flight per target when neither --concurrency nor the config's `concurrency` says,
# at most. Chosen from benchmarks/critical_path.py (see benchmarks/README.md): against a target 40 ms
# away more than 8 gains little, since the longest requirements are chains of dependent exchanges.
DEFAULT_CONCURRENCY = 8
# Within that bound, the default is what keeps this process busy, by Little's law: while one
# exchange is in flight for a round trip, others can use the CPU, so 1 + round trip / (the suite's
# CPU per exchange) requirements at once. A target about a millisecond away (on this machine, or
# next to it) gets 2 to 4: its answers and this process's work overlap, and more threads only
# contend for the GIL (benchmarks/README.md: against a local server, 8 threads took 4.5-4.8 s of CPU
# where 1 took 2.2-2.9 s, for the same verdicts). A target 7 ms or more away gets the full 8.
CPU_MS_PER_EXCHANGE = 1.0  # measured: benchmarks/throughput.py, 1.0-1.8 ms on this 2-core machine
MEASURED_AT_LEAST = 2
# The embedded reference servers share this process and its GIL: concurrency buys almost nothing
# there and costs thread switches, so their runs stay sequential unless asked.
EMBEDDED_CONCURRENCY = 1
MAX_THREADS = 64  # however many targets, the pool of one process stays bounded
# Hypothesis-driven checks (Traits.hypothesis) in flight at once in one process. Hypothesis supports
# running tests in several threads (since 6.136); what is not safe is CPython's ast.parse, which
# Hypothesis calls as it runs (source digests, the constants it collects from the checks' modules,
# lambda descriptions, pretty-printing a falsifying example). The AST constructor keeps its recursion
# depth per interpreter, so two threads inside it at once raise "SystemError: AST constructor
# recursion depth mismatch" (CPython gh-106905; seen here on 3.11 in 3 runs of 5 with four threads).
# While the pool runs, ast.parse is serialised (`serialised_ast_parse`), so this needs no limit;
# set it to 1 to decide the Hypothesis-driven checks one at a time (they then form one chain).
HYPOTHESIS_AT_ONCE = MAX_THREADS
_AST_LOCK = threading.RLock()
_ast_users = 0
_ast_parse = ast.parse


def _locked_parse(*args: Any, **kwargs: Any) -> Any:
    with _AST_LOCK:
        return _ast_parse(*args, **kwargs)


def serialised_ast_parse(on: bool) -> None:
    """Serialise ast.parse while any scheduler's pool runs (see HYPOTHESIS_AT_ONCE). The stdlib
    function is wrapped, not changed: the same parse, one thread at a time; restored afterwards."""
    global _ast_users
    with _AST_LOCK:
        _ast_users += 1 if on else -1
        ast.parse = _locked_parse if _ast_users > 0 else _ast_parse


Guard = Callable[[Requirement, Any, str | None], contextlib.AbstractContextManager[None]]


def concurrency(runtime: Runtime, given: int | None, round_trip_ms: float | None = None) -> int:
    """A target's limit: `--concurrency` wins, then the config's `concurrency`, then the default,
    chosen from the target's measured round trip when there is one (see CPU_MS_PER_EXCHANGE)."""
    if given is not None:
        return max(given, 1)
    config = runtime.run.config
    if config is not None and config.concurrency is not None:
        return max(config.concurrency, 1)
    if runtime.embedded:
        return EMBEDDED_CONCURRENCY
    if round_trip_ms is None:
        return DEFAULT_CONCURRENCY
    busy = math.ceil(1 + round_trip_ms / CPU_MS_PER_EXCHANGE)
    return max(MEASURED_AT_LEAST, min(DEFAULT_CONCURRENCY, busy))


@dataclass(frozen=True)
class Task:
    """One requirement to decide: `key` is how its pytest item asks for the verdict (its node ID)."""

    key: Hashable
    runtime: Runtime
    requirement: Requirement
    target: str  # the URL the exclusivity is about (one embedded profile, or one real target)
    exclusive: bool
    order: int  # the item's position in pytest's order (the scheduler numbers them as submitted)
    confirming: bool = False  # decided again, alone, after a verdict other than pass beside others

    @property
    def hypothesis(self) -> bool:
        return traits_of(self.requirement).hypothesis

    @property
    def rank(self) -> tuple[int, int]:
        """The heaviest first (longest processing time first), then pytest's order."""
        return (-traits_of(self.requirement).weight, self.order)


class Scheduler:
    """A bounded pool of threads deciding submitted requirements, each target within its limit."""

    def __init__(self, limits: dict[int, int], guard: Guard | None = None) -> None:
        """`limits`: requirements in flight at most, by `id(runtime)`; `guard`: a lock to hold
        around each decision as well (pytest-xdist's lock across the worker processes)."""
        self._limits = limits
        self._guard = guard or (lambda requirement, session, target: contextlib.nullcontext())
        self._cond = threading.Condition()
        self._pending: list[Task] = []
        self._futures: dict[Hashable, Future[Verdict]] = {}
        self._running: dict[int, int] = {}  # by runtime
        self._shared: dict[str, int] = {}  # running shared tasks by target URL
        self._alone: dict[str, int] = {}  # running exclusive tasks by target URL (0 or 1)
        self._seq = 0  # the next task's place in pytest's order
        self._hypothesis = 0  # running Hypothesis-driven tasks, all targets
        self._beside: dict[str, set[Hashable]] = {}  # running tasks by target URL
        self._overlapped: set[Hashable] = set()  # tasks that ran beside another of their target
        self.confirmed: list[Hashable] = []  # tasks decided once more alone (see _confirm)
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._parsing = False  # whether this scheduler holds ast.parse serialised

    # -- what the plugin calls ------------------------------------------------------------------
    def task(self, key: Hashable, runtime: Runtime, requirement: Requirement, order: int) -> Task:
        """A task for `requirement`; its exclusivity read from the check's traits and the target's config."""
        session, _ = runtime.session(runtime.run.profiles_by_name[requirement.profile])
        target = session.base_url
        return Task(key, runtime, requirement, target, needs_target_alone(requirement, session), order)

    def submit(self, tasks: Iterable[Task]) -> None:
        """Queue tasks not queued yet; threads start as needed, up to the sum of the limits."""
        with self._cond:
            if self._closed:
                return
            for task in tasks:
                if task.key in self._futures:
                    continue
                self._futures[task.key] = Future()
                self._pending.append(replace(task, order=self._seq))
                self._seq += 1
            self._pending.sort(key=lambda t: t.rank)
            if not self._parsing:
                serialised_ast_parse(True)
                self._parsing = True
            wanted = min(sum(self._limits.values()), MAX_THREADS, len(self._pending) + self._busy())
            while len(self._threads) < wanted:
                thread = threading.Thread(target=self._work, name=f"oauth2-decide-{len(self._threads)}", daemon=True)
                self._threads.append(thread)
                thread.start()
            self._cond.notify_all()

    def knows(self, key: Hashable) -> bool:
        with self._cond:
            return key in self._futures

    def verdict(self, key: Hashable) -> Verdict:
        """The verdict of a submitted task, once decided (what the check raised, re-raised here)."""
        with self._cond:
            future = self._futures[key]
        return future.result()

    def close(self) -> None:
        """Decide nothing more: pending tasks are dropped (their items never ran), running ones end.
        Idempotent."""
        with self._cond:
            self._closed = True
            for task in self._pending:
                self._futures[task.key].cancel()
            self._pending.clear()
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=120)  # a decision is bounded by the client's timeouts and max_wait
        with self._cond:
            if self._parsing:
                serialised_ast_parse(False)
                self._parsing = False

    # -- the pool ---------------------------------------------------------------------------------
    def _busy(self) -> int:
        return sum(self._running.values())

    def _eligible(self, task: Task, first: dict[str, int], first_alone: dict[str, int]) -> bool:
        """Within the limits, and in pytest's order where it matters: an exclusive requirement
        starts once everything before it on its target is done, and nothing after it starts
        before it is done. So the target's clock has moved, for each requirement, exactly as
        often as in a sequential run when it is decided (`first`, `first_alone`: the earliest
        pending task, and the earliest pending exclusive one, by target)."""
        runtime = id(task.runtime)
        if self._running.get(runtime, 0) >= self._limits.get(runtime, 1):
            return False
        if self._alone.get(task.target, 0):
            return False
        if task.hypothesis and self._hypothesis >= HYPOTHESIS_AT_ONCE:
            return False
        if task.exclusive:
            return not self._shared.get(task.target, 0) and first[task.target] == task.order
        return task.order < first_alone.get(task.target, task.order + 1)

    def _take(self) -> Task | None:
        first: dict[str, int] = {}
        first_alone: dict[str, int] = {}
        for task in self._pending:
            first[task.target] = min(first.get(task.target, task.order), task.order)
            if task.exclusive:
                first_alone[task.target] = min(first_alone.get(task.target, task.order), task.order)
        for n, task in enumerate(self._pending):
            if self._eligible(task, first, first_alone):
                del self._pending[n]
                runtime = id(task.runtime)
                self._running[runtime] = self._running.get(runtime, 0) + 1
                self._hypothesis += task.hypothesis
                beside = self._beside.setdefault(task.target, set())
                if beside:
                    self._overlapped.update(beside, (task.key,))
                beside.add(task.key)
                if task.exclusive:
                    self._alone[task.target] = 1
                else:
                    self._shared[task.target] = self._shared.get(task.target, 0) + 1
                return task
        return None

    def _done(self, task: Task) -> None:
        self._running[id(task.runtime)] -= 1
        self._hypothesis -= task.hypothesis
        self._beside[task.target].discard(task.key)
        if task.exclusive:
            self._alone[task.target] = 0
        else:
            self._shared[task.target] -= 1

    def _work(self) -> None:
        while True:
            with self._cond:
                task = self._take()
                while task is None:  # idle threads stay until close: an xdist worker submits more later
                    if self._closed:
                        return
                    self._cond.wait(timeout=1.0)
                    task = self._take()
            future = self._futures[task.key]
            verdict: Verdict | None = None
            try:
                if future.running() or future.set_running_or_notify_cancel():
                    verdict = self._decide(task)
            except BaseException as exc:  # handed to the item, whose setup raises it as a sequential one would
                future.set_exception(exc)
            finally:
                with self._cond:
                    self._done(task)
                    if verdict is not None and not self._confirm(task, verdict):
                        future.set_result(verdict)
                    self._cond.notify_all()

    def _confirm(self, task: Task, verdict: Verdict) -> bool:
        """Queue the task again, alone on its target, when a verdict other than pass was decided
        beside other requirements of that target; True if queued (its item waits for that one).

        Independent requirements are independent only as far as the target keeps them apart. A
        target that ends every token when one is destroyed (a bug), or keeps one token per client
        (a policy), fails a requirement that merely ran beside another; decided alone, as in a
        sequential run, it passes. So whatever did not pass beside others is decided once more
        with the target to itself, and that verdict is the one kept."""
        overlapped = task.key in self._overlapped
        if verdict.status == Status.PASS or task.exclusive or not overlapped or self._closed:
            return False
        self._overlapped.discard(task.key)
        self._pending.insert(0, replace(task, exclusive=True, confirming=True))  # its place in the order kept
        self.confirmed.append(task.key)
        return True

    def _decide(self, task: Task) -> Verdict:
        runtime, requirement = task.runtime, task.requirement
        session, validator = runtime.session(runtime.run.profiles_by_name[requirement.profile])
        with self._guard(requirement, session, runtime.run.target):
            return decide(runtime.run.plan.of(requirement), session, validator, strict=runtime.run.strict)
