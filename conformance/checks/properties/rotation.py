"""Refresh: rotated tokens never repeat (Ekuaibao line 100); a used refresh token is refused
(Everydo line 123; RFC 9700 §4.14.2 as advice)."""

from __future__ import annotations

from hypothesis import strategies as st

from conformance.checks.base import CheckContext, Traits, check
from conformance.checks.options import Refusal
from conformance.checks.properties.runner import run_property
from conformance.target.tokens import Tokens


def refresh(ctx: CheckContext, tokens: Tokens, step: str) -> Tokens:
    """One refresh of the chain. The chain is what the requirement is about (refreshes can be
    chained, each giving the tokens of the next), so a refresh that fails is its failure."""
    flow = ctx.flow
    reply = ctx.session.call(flow, tokens=tokens)
    outcome = ctx.outcome(reply)
    if not outcome.success:
        raise ctx.fail(f"{step}: the refresh did not succeed ({outcome.describe(reply)}); a chain of refreshes broke")
    return Tokens(
        ctx.session.issued(reply, flow, "access_token"), ctx.session.issued(reply, flow, "refresh_token"), reply
    )


@check("refresh_rotates", traits=Traits(weight=5, hypothesis=True, lifecycle="rotates"))
def refresh_rotates(ctx: CheckContext) -> None:
    """Along a chain of refreshes, every access and refresh token is new."""

    def chain(length: int) -> None:
        tokens = ctx.tokens()
        seen = {"access_token": {tokens.access_token}, "refresh_token": {tokens.refresh_token}}
        for n in range(1, length + 1):
            tokens = refresh(ctx, tokens, f"refresh #{n} with the latest tokens")
            for role, values in seen.items():
                value = getattr(tokens, role)
                if value is None:
                    raise ctx.fail(f"refresh #{n} carries no {role}")
                if value in values:
                    raise ctx.fail(f"refresh #{n} returned a {role} issued before; it must change on every refresh")
                values.add(value)

    run_property(ctx, st.integers(min_value=1, max_value=3), chain, explicit=[1, 2])


@check("refresh_single_use", options=Refusal, traits=Traits(weight=5, hypothesis=True, lifecycle="refresh_once"))
def refresh_single_use(ctx: CheckContext) -> None:
    """After a chain of refreshes, each refresh token used along it is refused."""

    def chain(length: int, which: int) -> None:
        history = [ctx.tokens()]
        for n in range(1, length + 1):
            history.append(refresh(ctx, history[-1], f"refresh #{n} with the latest tokens"))
        old = history[which % length]
        again = ctx.session.call(ctx.flow, tokens=old)
        ctx.expect_error(again, ctx.option("expect_error", ()), f"reusing the refresh token of step {which % length}")

    run_property(
        ctx, st.tuples(st.integers(1, 3), st.integers(0, 2)), lambda t: chain(*t), explicit=[(1, 0), (2, 0), (2, 1)]
    )
