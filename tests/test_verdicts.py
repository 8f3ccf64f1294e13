"""The one verdict path: what a check recorded decides the verdict, and pytest's outcome follows it."""

from __future__ import annotations

import pytest

from conformance.checks.base import CheckContext, Declaration, Traits
from conformance.checks.catalog import REGISTRY
from conformance.checks.options import NoOptions
from conformance.engine.plan import bind
from conformance.engine.verdicts import NO_EXCHANGE, Status, decide
from conformance.model.errors import MissingPrerequisite, NotApplicable, PreconditionFailed, SuiteBug, TargetError
from conformance.model.sanitize import has_unsafe
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


# -- whose fault an exception is (issue 21) ----------------------------------------------------
def test_a_suite_bug_is_an_error_told_without_locals(harness: Harness, scratch_check) -> None:
    def buggy(ctx: CheckContext) -> None:
        _probe(ctx)
        form = {"client_secret": ctx.session.config.client_secret}  # a local a traceback would show
        raise TypeError(f"unexpected {form}")

    verdict = _decide(harness, _requirement(scratch_check("t_buggy", buggy)))
    assert verdict.status == Status.ERROR and isinstance(verdict.error, SuiteBug)
    assert verdict.reason.startswith("internal error in oauth2-conformance (a bug: please report it): TypeError")
    assert "secret-1" not in verdict.reason + verdict.error.trace
    assert "in buggy" in verdict.error.trace and "form = " not in verdict.error.trace


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("javascript:alert(1)//\x1b]52;c;aGk=\x07", {}),  # a redirect the target chose
        ("/oauth/token\x1b[2J", {}),  # a same-origin location no URL may hold
        ("/oauth/token", {"authorization": "Bearer t\u00e9\u2603"}),  # a token no header can carry
    ],
)
def test_what_the_target_answered_is_never_a_suite_error(
    harness: Harness, scratch_check, url: str, headers: dict[str, str]
) -> None:
    def follows(ctx: CheckContext) -> None:
        _probe(ctx)
        target = url if ":" in url.split("/")[0] else ctx.session.base_url + url
        ctx.session.client.send("GET", target, headers=headers)

    verdict = _decide(harness, _requirement(scratch_check("t_follows", follows)))
    assert verdict.status == Status.NOT_RUN, verdict.reason
    assert verdict.reason.startswith("could not send GET") and not has_unsafe(verdict.reason)
