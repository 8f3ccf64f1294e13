"""The one verdict path: what a check recorded decides the verdict, and pytest's outcome follows it."""

from __future__ import annotations

import pytest

from conformance.checks.base import CheckContext, Declaration, Traits
from conformance.checks.catalog import REGISTRY
from conformance.checks.options import NoOptions
from conformance.engine.plan import bind
from conformance.engine.verdicts import NO_EXCHANGE, Status, decide
from conformance.model.errors import MissingPrerequisite, NotApplicable, PreconditionFailed, TargetError
from conformance.model.spec import Level, Requirement

from .fixtures.reference import Harness


def _requirement(check: str, level: Level = Level.MUST, advisory: bool = False) -> Requirement:
    return Requirement("T-1", level, "doc:1", "text", check, "yixin", flow="exchange_code", advisory=advisory)


@pytest.fixture
def scratch_check():
    """Register throwaway checks for one test, and remove them afterwards."""
    added: list[str] = []

    def register(name, fn):
        REGISTRY[name] = Declaration(name, fn, NoOptions, Traits())
        added.append(name)
        return name

    yield register
    for name in added:
        del REGISTRY[name]


def _decide(harness: Harness, requirement: Requirement, strict: bool = False):
    session, validator = harness.session("yixin")
    try:
        return decide(bind(requirement), session, validator, strict=strict)
    finally:
        session.client.close()


def _probe(ctx: CheckContext) -> None:
    ctx.session.client.send("GET", ctx.session.base_url + "/oauth/token")


def test_a_pass_without_an_exchange_is_not_run(harness: Harness, scratch_check) -> None:
    verdict = _decide(harness, _requirement(scratch_check("t_silent", lambda ctx: None)))
    assert (verdict.status, verdict.reason, verdict.exchanges) == (Status.NOT_RUN, NO_EXCHANGE, 0)


def test_a_pass_counts_every_exchange(harness: Harness, scratch_check) -> None:
    def twice(ctx: CheckContext) -> None:
        _probe(ctx)
        ctx.recorder.next_example()  # a new example keeps only its own exchanges, the total counts all
        _probe(ctx)

    verdict = _decide(harness, _requirement(scratch_check("t_twice", twice)))
    assert verdict.status == Status.PASS and verdict.exchanges == 2 and len(verdict.log) == 1


@pytest.mark.parametrize(
    ("raised", "status"),
    [
        (NotApplicable("the target offers no password grant"), Status.NOT_APPLICABLE),
        (MissingPrerequisite("set client_id"), Status.NOT_RUN),
        (PreconditionFailed("the exchange did not succeed"), Status.NOT_RUN),
        (TargetError("connection refused"), Status.ERROR),
    ],
)
def test_undecided_outcomes(harness: Harness, scratch_check, raised: Exception, status: Status) -> None:
    def undecided(ctx: CheckContext) -> None:
        _probe(ctx)
        raise raised

    verdict = _decide(harness, _requirement(scratch_check("t_undecided", undecided)))
    assert verdict.status == status and verdict.reason == str(raised)


@pytest.mark.parametrize(
    ("level", "advisory", "strict", "status"),
    [
        (Level.MUST, False, False, Status.FAIL),
        (Level.SHOULD, False, False, Status.WARNING),
        (Level.SHOULD, False, True, Status.FAIL),
        (Level.MUST, True, False, Status.WARNING),
    ],
)
def test_violations_by_level(harness: Harness, scratch_check, level, advisory, strict, status) -> None:
    def broken(ctx: CheckContext) -> None:
        _probe(ctx)
        raise ctx.fail("broken")

    verdict = _decide(harness, _requirement(scratch_check("t_broken", broken), level, advisory), strict)
    assert verdict.status == status
    assert verdict.violation is not None and len(verdict.violation.exchanges) == 1


def test_evidence_belongs_to_the_requirement_being_decided(harness: Harness, scratch_check) -> None:
    """Two requirements decided on one session never share exchanges (no swapped client log)."""
    session, validator = harness.session("yixin")
    try:
        name = scratch_check("t_one", _probe)
        first = decide(bind(_requirement(name)), session, validator)
        second = decide(bind(_requirement(name)), session, validator)
        outside = session.client.send("GET", session.base_url + "/oauth/token")
    finally:
        session.client.close()
    assert first.exchanges == second.exchanges == 1
    assert next(iter(first.log)) is not next(iter(second.log))
    assert outside.exchange not in list(first.log) + list(second.log)
