"""Racing requests: prepared requests released together, each over a connection of its own.

Every request of a race is filled in first (`ProfileSession.prepare`), admitted at once (budget,
rate and circuit breaker, `TargetClient.burst`) and staged (built and recorded as evidence); then
one thread per request waits at a barrier, sleeps its own delay and sends. The target sees them
inside one scheduling window, and each exchange records when it went out and when its answer was in.

A target that answers a race with 429 or 503 is busy, not wrong: the race is undecided (`not run`).
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from conformance.model.errors import PreconditionFailed, TargetError
from conformance.model.exchange import Exchange
from conformance.target.client import Burst, Reply
from conformance.target.request_builder import Prepared
from conformance.target.session import ProfileSession

BUSY = {429: "rate limited", 503: "unavailable"}
BARRIER_TIMEOUT = 10.0  # seconds the racers wait for each other at the start line


@dataclass(frozen=True)
class Entry:
    """One racer: its prepared request, the delay after the start before it sends, and a label."""

    prepared: Prepared
    delay_ms: float = 0.0
    label: str = ""


@dataclass(frozen=True)
class Lap:
    """What one racer sent and got back."""

    index: int
    entry: Entry
    reply: Reply

    @property
    def exchange(self) -> Exchange:
        return self.reply.exchange


def run_race(session: ProfileSession, entries: Sequence[Entry]) -> list[Lap]:
    """Send `entries` together; each answer is then completed by the session (its tokens learned
    and masked). A racer without an answer makes the race undecided; none answering is an error."""
    count = len(entries)
    with session.client.burst(count) as burst:
        for i, entry in enumerate(entries):
            burst.stage(i, entry.prepared.method, entry.prepared.url, **entry.prepared.parts())
        results = _release(burst, entries, session.client.config.timeout + session.client.config.connect_timeout)
    errors = [(i, r) for i, r in enumerate(results) if not isinstance(r, Reply)]
    if errors and len(errors) == count:
        raise TargetError(f"no racer of a race of {count} got an answer: {errors[0][1]}")
    if errors:
        i, error = errors[0]
        raise PreconditionFailed(f"racer {i + 1} of a race of {count} got no answer ({error}); the race is undecided")
    replies = [r for r in results if isinstance(r, Reply)]
    laps = [
        Lap(i, entry, session.complete(entry.prepared, reply))
        for i, (entry, reply) in enumerate(zip(entries, replies, strict=True))
    ]
    busy = [lap for lap in laps if lap.reply.status in BUSY]
    if busy:
        lap = busy[0]
        status = lap.reply.status
        raise PreconditionFailed(
            f"the target answered racer {lap.index + 1} of a race of {count} with HTTP {status} ({BUSY[status]}, "
            f"exchange #{lap.exchange.seq}): it turned simultaneous requests away, so the race is undecided "
            "(lower the race with rate in the target config, or run it when the target has room)"
        )
    return laps


def _release(burst: Burst, entries: Sequence[Entry], timeout: float) -> list[Reply | str]:
    """One thread per racer (each in a copy of the caller's context, so its exchange reaches the
    requirement's recorder); all start at a barrier; each is joined within a bound."""
    count = len(entries)
    barrier = threading.Barrier(count)
    results: list[Reply | str] = ["never sent"] * count

    def racer(i: int) -> None:
        try:
            barrier.wait(timeout=BARRIER_TIMEOUT)
        except threading.BrokenBarrierError:
            results[i] = "the racers never all reached the start line"
            return
        if entries[i].delay_ms > 0:
            time.sleep(entries[i].delay_ms / 1000)
        try:
            results[i] = burst.fire(i)
        except TargetError as exc:
            results[i] = str(exc)

    threads = [
        threading.Thread(target=contextvars.copy_context().run, args=(racer, i), name=f"racer-{i + 1}", daemon=True)
        for i in range(count)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + BARRIER_TIMEOUT + max(e.delay_ms for e in entries) / 1000 + timeout + 5
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    late = [t.name for t in threads if t.is_alive()]
    if late:
        raise TargetError(f"{', '.join(late)} of a race of {count} did not finish within the request timeout")
    return results


def timeline(laps: Sequence[Lap], judged: dict[int, str]) -> str:
    """What each racer sent and got, in racer order (the order of their exchanges in the evidence,
    which shows when each was sent and answered). No timings or exchange numbers: a reason reads
    the same in every run that finds the same race."""
    lines = []
    for lap in laps:
        shape = [lap.entry.label] if lap.entry.label else []
        shape += [f"delay {lap.entry.delay_ms:g} ms"] if lap.entry.delay_ms else []
        detail = f" ({', '.join(shape)})" if shape else ""
        lines.append(f"racer {lap.index + 1}{detail}: HTTP {lap.reply.status}, {judged.get(lap.index, 'refused')}")
    return "; ".join(lines)
