"""Races (issue 18): a violation shows the overlapping exchanges with their timings; a busy target
leaves the race undecided; a race is admitted as one burst against the budget; its size is bounded."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from conformance.checks.base import CheckContext
from conformance.checks.properties.race_shapes import QUICK_RACERS, Race, racer_bound
from conformance.model import config as config_module
from conformance.model.errors import TargetError
from conformance.model.masking import Masker
from conformance.servers import ReferenceServer, reference_config
from conformance.servers.base import RACE_WINDOW
from conformance.target.client import Budget, TargetClient

from .fixtures.reference import Harness


def test_a_race_violation_shows_the_overlapping_exchanges(harness: Harness) -> None:
    verdict = harness.run("yixin", {RACE_WINDOW}, only={"YX-CODE-SINGLE-USE-RACE"})["YX-CODE-SINGLE-USE-RACE"]
    assert verdict.status == "fail" and verdict.violation is not None
    assert "2 of 2 simultaneous exchanges" in verdict.reason
    won = [e for e in verdict.violation.exchanges if e.url.endswith("/oauth/token") and e.status == 200]
    assert len(won) >= 2
    assert all(e.started_at is not None and e.ended_at is not None for e in won)
    assert max(e.started_at or 0 for e in won) < min(e.ended_at or 0 for e in won), "the winners overlapped"
    assert "[" in won[0].render(Masker()), "the rendered exchange carries its start and end"


class _OneAtATime:
    """ASGI middleware: a request that arrives while another is in flight gets 429."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.in_flight:
            await PlainTextResponse("Too Many Requests", status_code=429)(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


@pytest.fixture
def busy_server() -> Iterator[ReferenceServer]:
    server = ReferenceServer(["yixin"], latency=0.05)  # each answer takes 50 ms: a racer always finds one in flight
    server.app.add_middleware(_OneAtATime)
    with server:
        yield server


def test_a_target_that_answers_a_race_with_429_leaves_it_not_run(busy_server: ReferenceServer) -> None:
    verdict = Harness(busy_server).run("yixin", only={"YX-CODE-SINGLE-USE-RACE"})["YX-CODE-SINGLE-USE-RACE"]
    assert verdict.status == "not run", verdict.reason
    assert "HTTP 429" in verdict.reason and "undecided" in verdict.reason


def test_a_race_is_admitted_as_one_burst(reference: ReferenceServer) -> None:
    config = config_module.from_mapping(reference_config("yixin", reference.url("yixin")))
    client = TargetClient(config, Budget(max_requests=3, rate=None))
    try:
        with pytest.raises(TargetError, match="budget exhausted"):
            client.burst(4)
        assert client.budget.used == 0, "nothing of a race that does not fit is sent"
        with client.burst(3) as burst:
            assert len(burst) == 3
        assert client.budget.used == 3 and client.requests_made == 3
    finally:
        client.close()


@pytest.mark.parametrize(("examples", "rate", "bound"), [(8, None, QUICK_RACERS), (100, None, 20), (100, 4.0, 4)])
def test_the_race_size_is_bounded(harness: Harness, examples: int, rate: float | None, bound: int) -> None:
    session, validator = harness.session("yixin")
    session.examples = examples
    session.config = dataclasses.replace(session.config, rate=rate)
    requirement = session.profile.requirement("YX-CODE-SINGLE-USE-RACE")
    requirement = dataclasses.replace(requirement, options={"max_racers": 20})
    ctx = CheckContext(session, validator, requirement, options=Race(max_racers=20))
    assert racer_bound(ctx) == bound
    session.client.close()
