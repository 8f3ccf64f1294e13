"""A requirement the target broke, with the exchanges that show it (a test failure, not a suite error)."""

from __future__ import annotations

from collections.abc import Sequence

from conformance.model.exchange import Exchange
from conformance.model.spec import Requirement


class Violation(AssertionError):
    """The target broke `requirement`; `exchanges` is the evidence that shows it.

    `advice` marks a finding no document line states (a 5xx that still carries the documented
    failure signal, say): it is reported as a warning whatever the requirement's level."""

    def __init__(
        self, requirement: Requirement, message: str, exchanges: Sequence[Exchange] = (), *, advice: bool = False
    ) -> None:
        self.requirement = requirement
        self.message = message
        self.exchanges = tuple(exchanges)
        self.advice = advice
        super().__init__(f"[{requirement.id}] {message}")
