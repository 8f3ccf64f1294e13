"""Destroy revokes the destroyed token (UserCenter /oauth/destoryToken, line 254-264), whichever of
the user's tokens it is, as every probe (a flow that only looks at a token) sees it."""

from __future__ import annotations

from hypothesis import strategies as st

from conformance.checks.base import CheckContext, Traits, check
from conformance.checks.options import Probes
from conformance.checks.properties.runner import run_property
from conformance.model.errors import PreconditionFailed


@check("destroy_revokes", options=Probes, traits=Traits(weight=5, hypothesis=True, lifecycle="destroy"))
def destroy_revokes(ctx: CheckContext) -> None:
    """Of two to four live tokens, the flow destroys one (each probe first accepts it); then every flow
    in `probes` must refuse the destroyed token (a token check by its `verdict`). The user's other
    tokens are not probed: a destroy may end them too (a Hypothesis property over count and choice)."""
    session = ctx.session
    probes = [session.flow(name) for name in ctx.option("probes", ())]
    if not probes:
        raise PreconditionFailed(f"{ctx.requirement.id} names no `probes`: flows that check a token harmlessly")

    def destroy_one(count: int, index: int) -> None:
        live = [ctx.tokens() for _ in range(count)]
        doomed = live[index % count]
        for probe in probes:
            if not ctx.positive(session.call(probe, tokens=doomed), probe):
                raise PreconditionFailed(f"{probe.name} does not accept a live access token, so it cannot probe one")
        ctx.succeed(session.call(ctx.flow, tokens=doomed), step="destroying a live token")
        # Only the destroyed token must stop working; whether the user's other tokens survive is
        # unsaid (decision, line 264), so they are not probed.
        for probe in probes:
            ctx.expect_error(session.call(probe, tokens=doomed), (), f"{probe.name} with the destroyed token", probe)

    run_property(
        ctx, st.tuples(st.integers(2, 4), st.integers(0, 3)), lambda t: destroy_one(*t), explicit=[(2, 0), (3, 1)]
    )
