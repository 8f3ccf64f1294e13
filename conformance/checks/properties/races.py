"""Single use under concurrency: the race variants of the single-use promises (RFC 6749 §4.1.2,
§10.5; RFC 9700 §4.14.2; RFC 7009 §2.2; the vendor documents' own single-use lines).

A check-then-write on a code or token without a lock or an atomic update lets two simultaneous
requests both pass the check; one after another they never do, so the sequential checks cannot
see it. Each race sends its requests together (`conformance.target.race`), and Hypothesis chooses
the race's shape (`race_shapes.py`); a broken promise shrinks to the smallest race that breaks it.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.checks.base import CheckContext, Traits, check, role_param
from conformance.checks.properties.race_shapes import STEPS, Arena, Race, Racer
from conformance.checks.properties.runner import run_property
from conformance.model.errors import PreconditionFailed
from conformance.model.pointer import resolve
from conformance.model.spec import Flow
from conformance.target.client import Reply
from conformance.target.race import Entry, Lap, run_race, timeline

# A race is fine beside other requirements: it only spends its own codes and tokens.
RACE = Traits(weight=5, hypothesis=True)


@dataclass(frozen=True)
class RaceAcross(Race):
    """`other`: the second flow that takes the same kind of code, raced against the requirement's."""

    other: str = ""


@dataclass(frozen=True)
class RaceProbes(Race):
    """`probes`: flows that use a token without changing it, raced against its revocation and asked
    afterwards; `active_pointer`: where their answer says the token is active (introspection),
    else a refusal means it is dead."""

    probes: tuple[str, ...] = ()
    active_pointer: str | None = None


def _judge_winners(ctx: CheckContext, laps: list[Lap], what: str, arena: Arena) -> dict[int, str]:
    """At most one racer may succeed; a second success is the violation, with the overlap."""
    winners = arena.succeeded(laps, "got tokens")
    if len(winners) > 1:
        raise ctx.fail(
            f"{len(winners)} of {len(laps)} simultaneous {what} succeeded; at most one may "
            f"(the evidence has each racer's exchange, with when it was sent and answered). {timeline(laps, winners)}"
        )
    return winners


def _race_codes(ctx: CheckContext, flows: list[Flow], fixed_lanes: int) -> None:
    session = ctx.session
    for flow in flows:
        if flow.redirect:
            raise PreconditionFailed(f"{flow.name} answers with a redirect; only token requests are raced")
    arena = Arena(ctx, flows, "code")
    what = "exchanges of one fresh code" + (
        " at " + " and ".join(f.operation.path for f in flows) if fixed_lanes else ""
    )

    def exchanges(racers: tuple[Racer, ...]) -> None:
        code = session.new_code()
        entries = []
        for racer in racers:
            flow = flows[racer.lane % len(flows)]
            base = {role_param(flow, "code"): code}
            prepared = session.prepare(flow, arena.overrides(flow, racer, base))
            entries.append(Entry(prepared, arena.delay_ms(racer), racer.describe(flow if len(flows) > 1 else None)))
        winners = _judge_winners(ctx, run_race(session, entries), what, arena)
        if not winners:  # nothing won: make sure a fresh code works at all, or the race showed nothing
            ctx.succeed(session.call(flows[0]), flows[0], step="a fresh code exchanged alone (no racer got tokens)")

    run_property(ctx, arena.shapes(fixed_lanes), exchanges, arena.explicit(fixed_lanes))


@check("code_single_use_race", options=Race, traits=RACE)
def code_single_use_race(ctx: CheckContext) -> None:
    """N simultaneous exchanges of one fresh code (N from 2 to max_racers): at most one yields tokens."""
    _race_codes(ctx, [ctx.flow], 0)


@check("code_single_use_across_race", options=RaceAcross, traits=RACE)
def code_single_use_across_race(ctx: CheckContext) -> None:
    """One fresh code sent to both flows that take it at once (the first racer at the requirement's
    flow, the second at `other`, the rest at either): at most one yields tokens."""
    other = ctx.option("other")
    if not other:
        raise PreconditionFailed(f"{ctx.requirement.id} names no `other` flow to race against")
    _race_codes(ctx, [ctx.flow, ctx.session.flow(other)], 2)


@check("refresh_single_use_race", options=Race, traits=RACE)
def refresh_single_use_race(ctx: CheckContext) -> None:
    """N simultaneous refreshes with one refresh token: at most one succeeds, and afterwards the
    refresh token every racer presented (what the losers hold) is refused."""
    session, flow = ctx.session, ctx.flow
    arena = Arena(ctx, [flow], "refresh_token")
    codes = ctx.option("expect_error", ())

    def refreshes(racers: tuple[Racer, ...]) -> None:
        tokens = ctx.tokens()
        if tokens.refresh_token is None:
            raise PreconditionFailed(f"{tokens.flow or 'the token source'} issued no refresh token to race with")
        entries = [
            Entry(session.prepare(flow, arena.overrides(flow, r, {}), tokens=tokens), arena.delay_ms(r), r.describe())
            for r in racers
        ]
        laps = run_race(session, entries)
        winners = _judge_winners(ctx, laps, "refreshes with one refresh token", arena)
        if not winners:  # no racer used it: nothing to say about it afterwards, but the flow must work
            ctx.succeed(session.call(flow, tokens=ctx.tokens()), step="a refresh alone (no racer succeeded)")
            return
        again = session.call(flow, tokens=tokens)
        ctx.expect_error(
            again, codes, f"the refresh token of a race one racer won, presented again ({timeline(laps, winners)})"
        )

    run_property(ctx, arena.shapes(), refreshes, arena.explicit())


@check("revoke_race", options=RaceProbes, traits=RACE)
def revoke_race(ctx: CheckContext) -> None:
    """A revocation (or destroy) of a live token sent together with uses of the same token (its
    `probes`): once every racer has answered, the token is dead at every probe."""
    session, flow = ctx.session, ctx.flow
    probes = [session.flow(name) for name in ctx.option("probes", ())]
    if not probes:
        raise PreconditionFailed(f"{ctx.requirement.id} names no `probes`: flows that use a token harmlessly")
    session.require_offered(flow)
    arena = Arena(ctx, probes, "access_token")
    pointer = ctx.option("active_pointer")

    def alive(probe: Flow, reply: Reply) -> bool:
        if pointer:
            return reply.status == 200 and resolve(reply.json(), pointer) is True
        return ctx.outcome(reply, probe).success

    def revocation(racers: tuple[Racer, ...]) -> None:
        tokens = ctx.tokens()
        for probe in probes:
            if not alive(probe, session.call(probe, tokens=tokens)):
                raise PreconditionFailed(f"{probe.name} does not accept a fresh token, so it cannot show it dead")
        revoker, *users = racers
        entries = [Entry(session.prepare(flow, tokens=tokens), arena.delay_ms(revoker), flow.name)]
        for racer in users:
            probe = probes[racer.lane % len(probes)]
            prepared = session.prepare(probe, arena.overrides(probe, racer, {}), tokens=tokens)
            entries.append(Entry(prepared, arena.delay_ms(racer), racer.describe(probe)))
        laps = run_race(session, entries)
        ctx.succeed(laps[0].reply, step=f"{flow.name} of a live token, raced by {len(users)} uses of it")
        judged = {0: "revoked"} | {
            lap.index: "used it" for lap in laps[1:] if alive(lap.entry.prepared.flow, lap.reply)
        }
        for probe in probes:
            if alive(probe, session.call(probe, tokens=tokens)):
                raise ctx.fail(
                    f"after a {flow.name} and {len(users)} simultaneous uses of the same token had all answered, "
                    f"{probe.name} still accepts the token. {timeline(laps, judged)}"
                )

    run_property(ctx, arena.shapes(), revocation, _staggered(arena))


def _staggered(arena: Arena) -> list[tuple[Racer, ...]]:
    """The revocation sent with its uses, and sent just after them (a use already in flight)."""
    return [
        (Racer(), Racer()),
        (Racer(offset=STEPS * 4 // 5), Racer()),
        (Racer(offset=STEPS * 2 // 5), *(Racer(lane=i) for i in range(arena.bound - 1))),
    ]
