"""Destroy revokes exactly the destroyed token (UserCenter /oauth/destoryToken, line 254-264)."""

from __future__ import annotations

from hypothesis import strategies as st

from conformance.checks.base import CheckContext, Traits, check
from conformance.checks.options import Probes
from conformance.checks.properties.runner import run_property
from conformance.model.errors import PreconditionFailed


@check("destroy_revokes", options=Probes, traits=Traits(weight=5, lifecycle="destroy"))
def destroy_revokes(ctx: CheckContext) -> None:
    """Of two to four live tokens, the flow destroys one; then every flow in `probes` must refuse the
    destroyed token and still accept each of the others (a Hypothesis property over count and choice)."""
    session = ctx.session
    probes = [session.flow(name) for name in ctx.option("probes", ())]
    if not probes:
        raise PreconditionFailed(f"{ctx.requirement.id} names no `probes`: flows that check a token harmlessly")

    def destroy_one(count: int, index: int) -> None:
        live = [ctx.tokens() for _ in range(count)]
        doomed = live.pop(index % count)
        ctx.succeed(session.call(ctx.flow, tokens=doomed), step="destroying a live token")
        for probe in probes:
            ctx.expect_error(session.call(probe, tokens=doomed), (), f"{probe.name} with the destroyed token", probe)
            for n, kept in enumerate(live, start=1):
                if not ctx.outcome(session.call(probe, tokens=kept), probe).success:
                    raise ctx.fail(f"{probe.name} refused live token #{n} after another token was destroyed")

    run_property(
        ctx, st.tuples(st.integers(2, 4), st.integers(0, 3)), lambda t: destroy_one(*t), explicit=[(2, 0), (3, 1)]
    )
