"""The lock an item holds on a shared target while its requirement is decided (pytest-xdist runs).

Against a real target every worker talks to the same server. A requirement whose check moves the
target's clock (with `clock_url`) or needs the target alone holds an exclusive lock on it; every
other requirement holds a shared one. Which is which is the check's declared traits
(`conformance.engine.plan.needs_target_alone`), not its name.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.engine.plan import needs_target_alone
from conformance.model.spec import Requirement

GUARD = pytest.StashKey[dict[str, "TargetLock"]]()  # by target URL: a run may have several targets


class TargetLock:
    """A readers-writer lock on one target, across the worker processes of a run (flock).

    Shared for ordinary requirements, exclusive for isolated ones. A waiting writer does not stop
    new readers: the isolated requirements come last in the order, and a writer that held the
    others up would idle every worker until the longest running requirement ended. The target's
    clock offset lives next to it.
    """

    def __init__(self, folder: Path, target: str) -> None:
        key = hashlib.sha256(target.encode()).hexdigest()[:16]
        self._path = folder / f"{key}.rw"
        self._rw = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        self._clock = folder / f"{key}.clock.json"
        self._main = threading.get_ident()
        self._local = threading.local()

    def _descriptor(self) -> int:
        """The calling thread's descriptor: flock belongs to an open file, so two threads holding it
        through one descriptor would share (and convert) one lock instead of excluding each other."""
        if threading.get_ident() == self._main:
            return self._rw
        fd: int | None = getattr(self._local, "fd", None)
        if fd is None:
            fd = self._local.fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        return fd

    @contextlib.contextmanager
    def hold(self, requirement: Requirement, session: Any) -> Iterator[None]:
        exclusive = needs_target_alone(requirement, session)
        rw = self._descriptor()
        fcntl.flock(rw, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            session.clock_offset = self._offsets().get(requirement.profile, 0.0)
            yield
            if exclusive:
                offsets = self._offsets()
                offsets[requirement.profile] = session.clock_offset
                self._clock.write_text(json.dumps(offsets), encoding="utf-8")
        finally:
            fcntl.flock(rw, fcntl.LOCK_UN)

    def _offsets(self) -> dict[str, float]:
        try:
            return {str(k): float(v) for k, v in json.loads(self._clock.read_text(encoding="utf-8")).items()}
        except (OSError, ValueError, AttributeError):
            return {}


def guard(
    config: pytest.Config, requirement: Requirement, session: Any, target: str | None
) -> contextlib.AbstractContextManager[None]:
    """The lock on `target` an item holds while its requirement is decided (none outside a parallel
    real-target run). Keyed by URL: two targets of a run on one server share its lock and clock."""
    lock = config.stash.get(GUARD, {}).get(target) if target is not None else None
    return lock.hold(requirement, session) if lock is not None else contextlib.nullcontext()
