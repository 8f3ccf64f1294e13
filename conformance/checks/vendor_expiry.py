"""Checks on a custom expiry counted in days (Ekuaibao lines 56-61, 135-142): which values are
refused, and what a number of days that is not positive may do."""

from __future__ import annotations

from dataclasses import dataclass

from conformance.checks.base import CheckContext, check, role_param
from conformance.checks.expiry import expiry_value, lifetime_seconds, tolerance


@dataclass(frozen=True)
class Values:
    """`values`: the values of the expire_days parameter that must be refused."""

    values: tuple[str, ...] = ()


@check("expire_days_refused", options=Values)
def expire_days_refused(ctx: CheckContext) -> None:
    """Each of `values` sent as the flow's expire_days parameter must get an error of the dialect."""
    flow = ctx.flow
    param = role_param(flow, "expire_days")
    for value in ctx.option("values", ()):
        reply = ctx.session.call(flow, {param: value})
        ctx.expect_error(reply, (), f"{flow.title} with {param}={value!r}")


@check("expire_days_nonpositive")
def expire_days_nonpositive(ctx: CheckContext) -> None:
    """0 or a negative number of days is refused, or gives a token that has already expired (within the
    tolerance of a lifetime of zero: the spec's expiry_tolerance, else 5 s); a token that lives on (a
    default, say) reads the request as something it did not ask for."""
    flow = ctx.flow
    param = role_param(flow, "expire_days")
    for days in ("0", "-1"):
        sent_at = ctx.session.now()
        reply = ctx.session.call(flow, {param: days})
        outcome = ctx.outcome(reply)
        if reply.status >= 500:
            raise ctx.fail(f"{flow.title} with {param}={days}: the server failed with HTTP {reply.status}")
        if not outcome.success:
            continue
        value = expiry_value(ctx, reply)
        lifetime = lifetime_seconds(ctx, value, sent_at)
        if lifetime > tolerance(ctx, 0):
            raise ctx.fail(
                f"{flow.title} with {param}={days}: accepted, and the token lives {lifetime / 86400:.2f} days; "
                "it should be refused (or expire at once)"
            )
