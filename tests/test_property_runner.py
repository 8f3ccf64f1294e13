"""The property runner (checks/properties/runner.py): an example whose step failed is skipped and
what was decided stands; a feature not offered or a value not configured ends the property with
that verdict; advice never hides a failure another example shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import strategies as st

from conformance.checks.properties.runner import run_property
from conformance.model.errors import MissingPrerequisite, PreconditionFailed
from conformance.model.spec import load_profiles
from conformance.model.violation import Violation


@dataclass
class FakeRecorder:
    examples: int = 0

    def next_example(self) -> None:
        self.examples += 1


@dataclass
class FakeSession:
    examples: int = 8
    seed: int = 1


@dataclass
class FakeContext:
    session: FakeSession = field(default_factory=FakeSession)
    recorder: FakeRecorder = field(default_factory=FakeRecorder)


REQUIREMENT = load_profiles()["ekuaibao"].requirement("EK-REFRESH-ROTATES")


def run(body: Any, explicit: list[int]) -> None:
    run_property(FakeContext(), st.integers(0, 9), body, explicit)  # type: ignore[arg-type]


def test_an_undecided_example_after_decided_ones_does_not_undo_them() -> None:
    def body(n: int) -> None:
        if n == 1:
            raise PreconditionFailed("the grant was refused this time")

    run(body, explicit=[0, 1, 2])  # passes: examples 0 and 2 decided it


def test_nothing_decided_is_not_run() -> None:
    def body(n: int) -> None:
        raise PreconditionFailed("the grant is always refused")

    with pytest.raises(PreconditionFailed):
        run(body, explicit=[0, 1])


def test_a_missing_prerequisite_ends_the_property() -> None:
    def body(n: int) -> None:
        if n == 1:
            raise MissingPrerequisite("set code_command")

    with pytest.raises(MissingPrerequisite):
        run(body, explicit=[0, 1, 2])


def test_advice_is_raised_only_when_no_example_fails() -> None:
    def advised(n: int) -> None:
        if n == 0:
            raise Violation(REQUIREMENT, "a 5xx with the failure signal", advice=True)

    with pytest.raises(Violation) as caught:
        run(advised, explicit=[0, 1])
    assert caught.value.advice

    def failing(n: int) -> None:
        if n == 0:
            raise Violation(REQUIREMENT, "advice", advice=True)
        if n == 1:
            raise Violation(REQUIREMENT, "a real failure")

    with pytest.raises(Violation) as caught:
        run(failing, explicit=[0, 1])
    assert not caught.value.advice
