"""The evidence of the requirement being decided: a Recorder, and the context that routes every
exchange the client makes to it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from conformance.model.exchange import EvidenceLog, Exchange


class Recorder:
    """The evidence of one requirement, owned by its check context.

    Every exchange is counted (a pass with no exchange verified nothing); only those of the current
    example are kept, so the violation a property finally reports carries exactly the exchanges of
    its minimal example.
    """

    def __init__(self) -> None:
        self.example = EvidenceLog()
        self.total = 0
        self._lock = threading.Lock()  # a race sends from several threads

    def add(self, exchange: Exchange) -> None:
        with self._lock:
            self.example.add(exchange)
            self.total += 1

    def next_example(self) -> None:
        """A property or state machine starts a new example: keep its exchanges apart."""
        self.example = EvidenceLog()


_RECORDER: ContextVar[Recorder | None] = ContextVar("oauth2_conformance_recorder", default=None)


@contextmanager
def recording(recorder: Recorder) -> Iterator[Recorder]:
    """Exchanges sent inside the block are recorded by `recorder` (and by no other)."""
    token = _RECORDER.set(recorder)
    try:
        yield recorder
    finally:
        _RECORDER.reset(token)


def record(exchange: Exchange) -> None:
    """Give an exchange to whichever requirement is being decided (none: nothing to keep)."""
    recorder = _RECORDER.get()
    if recorder is not None:
        recorder.add(exchange)
