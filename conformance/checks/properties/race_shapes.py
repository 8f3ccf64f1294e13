"""The shape of a race, chosen by Hypothesis: how many racers, which client each sends as, the
delay before each, and whether one carries a wrong parameter. Shrinking gives the smallest race
that breaks a promise: two racers, the configured client, no delay, every parameter right.

A racer's delay is a fraction of the race window: the target's median round trip so far, at least
MIN_WINDOW_MS, at most MAX_DELAY_MS. Two requests overlap at the target only while the first is
being answered, and answering takes no longer than the round trip; a racer sent later than that
arrives after the first answer, which is sequential reuse (the single-use checks' business). So
against a target a millisecond away the racers wait up to a millisecond, not 25.

How large a race may be is bounded here, once: the requirement's `max_racers` (default 8), never
more than 8 under `--examples quick`, never more than the run's `rate` allows in a second, never
more than CEILING.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from conformance.checks.base import CheckContext, bogus
from conformance.checks.options import Refusal
from conformance.checks.properties.runner import EXAMPLES
from conformance.model.spec import Flow
from conformance.target.race import Lap

DEFAULT_RACERS = 8
QUICK_RACERS = 8  # the most racers under --examples quick, whatever the spec asks
CEILING = 32
MAX_DELAY_MS = 25  # a racer waits at most this long after the start (a real server's race window is ms)
MIN_WINDOW_MS = 1.0  # the race window however fast the target answers
STEPS = 25  # a racer's offset is 0..STEPS: its delay is offset / STEPS of the race window
# Parameters a racer may get wrong, in the order tried: credentials other than the one raced for.
WRONG_ROLES = ("client_secret", "client_id", "redirect_uri", "access_token")


@dataclass(frozen=True)
class Race(Refusal):
    """`max_racers`: the most requests one race sends at once (at least 2; at most 8 under
    `--examples quick`); `expect_error`: the codes a refusal after the race may carry."""

    max_racers: int = DEFAULT_RACERS


@dataclass(frozen=True)
class Racer:
    """One racer: its delay after the start (`offset` STEPSths of the race window), whether it sends
    as `clients.second`, whether one of its parameters is made up, and which of the race's flows it
    uses (`lane`)."""

    offset: int = 0
    second: bool = False
    wrong: bool = False
    lane: int = 0

    def describe(self, flow: Flow | None = None) -> str:
        parts = [flow.name] if flow is not None else []
        parts += ["as clients.second"] if self.second else []
        parts += ["a wrong parameter"] if self.wrong else []
        return ", ".join(parts)


def racer_bound(ctx: CheckContext) -> int:
    """The most racers this run allows (see the module docstring)."""
    bound = min(max(2, int(ctx.option("max_racers", DEFAULT_RACERS))), CEILING)
    if ctx.session.examples <= EXAMPLES["quick"]:
        bound = min(bound, QUICK_RACERS)
    rate = ctx.session.config.rate
    if rate:
        bound = min(bound, max(2, int(rate)))
    return bound


class Arena:
    """What a race can vary for one requirement: the bound, the second client, the wrong parameter."""

    def __init__(self, ctx: CheckContext, flows: list[Flow], raced_role: str) -> None:
        self.ctx = ctx
        self.bound = racer_bound(ctx)
        self.raced_role = raced_role
        self.second = ctx.session.config.clients.get("second")
        self.can_switch = bool(self.second) and all(_role_name(f, "client_id") for f in flows)
        self.can_err = all(self.wrong_param(f) for f in flows)
        self.lanes = len(flows)

    def delay_ms(self, racer: Racer) -> float:
        """How long `racer` waits after the start: its share of the race window, measured now."""
        measured = self.ctx.session.client.round_trip_ms()
        window = MAX_DELAY_MS if measured is None else min(max(measured, MIN_WINDOW_MS), MAX_DELAY_MS)
        return racer.offset / STEPS * window

    def shapes(self, fixed_lanes: int = 0) -> st.SearchStrategy[tuple[Racer, ...]]:
        """Races of 2 to `bound` racers; the first `fixed_lanes` racers use lanes 0, 1, ... in turn."""
        racer = st.builds(
            Racer,
            offset=st.integers(0, STEPS),
            second=st.booleans() if self.can_switch else st.just(False),
            wrong=st.booleans() if self.can_err else st.just(False),
            lane=st.integers(0, self.lanes - 1),
        )
        shapes = st.lists(racer, min_size=2, max_size=self.bound).map(tuple)
        return shapes.map(lambda racers: self.pin(racers, fixed_lanes))

    @staticmethod
    def pin(racers: tuple[Racer, ...], fixed_lanes: int) -> tuple[Racer, ...]:
        return tuple(Racer(r.offset, r.second, r.wrong, i) if i < fixed_lanes else r for i, r in enumerate(racers))

    def explicit(self, fixed_lanes: int = 0) -> list[tuple[Racer, ...]]:
        """Always tried first: the smallest race, the largest, and (where they exist) a staggered one
        with a racer of the second client and one with a wrong parameter."""
        cases = [(Racer(), Racer()), tuple(Racer() for _ in range(self.bound))]
        if self.bound >= 3:
            cases.append((Racer(), Racer(offset=STEPS // 5, second=self.can_switch), Racer(wrong=self.can_err)))
        return [self.pin(case, fixed_lanes) for case in cases]

    def wrong_param(self, flow: Flow) -> str | None:
        for role in WRONG_ROLES:
            name = _role_name(flow, role)
            if role != self.raced_role and name is not None and name not in flow.values:
                return name
        return None

    def overrides(self, flow: Flow, racer: Racer, base: Mapping[str, Any]) -> dict[str, Any]:
        """The request of `racer` at `flow`: `base`, sent as the second client, with a wrong parameter."""
        values = dict(base)
        if racer.second and self.second:
            for role in ("client_id", "client_secret"):
                name = _role_name(flow, role)
                if name is not None:
                    values[name] = self.second.get(role, "")
        wrong = self.wrong_param(flow) if racer.wrong else None
        if wrong is not None:
            values[wrong] = bogus(flow.operation.params[wrong].role or "value")
        return values

    def succeeded(self, laps: list[Lap], word: str = "succeeded") -> dict[int, str]:
        """Racer index -> `word`, for the racers whose answer is a success of the flow they sent."""
        return {lap.index: word for lap in laps if self.ctx.outcome(lap.reply, lap.entry.prepared.flow).success}


def _role_name(flow: Flow, role: str) -> str | None:
    return next((n for n in flow.params if flow.operation.params[n].role == role), None)
