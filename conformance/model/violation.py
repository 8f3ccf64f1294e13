"""A requirement the target broke, with the exchanges that show it (a test failure, not a suite error)."""

from __future__ import annotations

from collections.abc import Sequence

from conformance.model.exchange import Exchange
from conformance.model.spec import Requirement


class Violation(AssertionError):
    """The target broke `requirement`; `exchanges` is the evidence that shows it."""

    def __init__(self, requirement: Requirement, message: str, exchanges: Sequence[Exchange] = ()) -> None:
        self.requirement = requirement
        self.message = message
        self.exchanges = tuple(exchanges)
        super().__init__(f"[{requirement.id}] {message}")
