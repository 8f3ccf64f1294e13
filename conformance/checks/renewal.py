"""Refresh as renewal: what a refresh does to an access token on either side of its expiry.

Some documents say a refresh *renews*: while the access token is live it is kept and its expiry
moved on, and once it has expired a refresh gives a new one (wechatweb lines 43-45). The opposite
readings have their own checks (`refresh_new_access_token`, `refresh_after_expiry_rejected`); a
spec names the one its document states. Whether a token still works is seen through `probes`,
flows that use a token without changing it.
"""

from __future__ import annotations

from conformance.checks.base import CheckContext, Traits, check
from conformance.checks.expiry import tolerance
from conformance.checks.options import Probes
from conformance.model.errors import PreconditionFailed
from conformance.target.tokens import Tokens


def _lifetime(ctx: CheckContext, tokens: Tokens) -> float:
    """The access token's lifetime in seconds, as the token source's answer states it."""
    source = ctx.session.flow(ctx.session.profile.token_source or "")
    value = ctx.session.issued(tokens.reply, source, "expiry")
    if isinstance(value, bool) or not isinstance(value, int) or source.expiry_unit != "seconds" or value <= 120:
        raise PreconditionFailed(f"{source.name} states no lifetime in seconds (over two minutes) to refresh within")
    return float(value)


def _works(ctx: CheckContext, tokens: Tokens) -> str | None:
    """None when every probe flow accepts the tokens; else the first refusal, described."""
    names = ctx.option("probes", ())
    if not names:
        raise PreconditionFailed(f"{ctx.requirement.id} names no probes (flows that use a token without changing it)")
    for name in names:
        flow = ctx.session.flow(name)
        reply = ctx.session.call(flow, tokens=tokens)
        outcome = ctx.outcome(reply, flow)
        if not outcome.success:
            return f"{flow.name} answered {outcome.describe(reply)}"
    return None


def _refresh(ctx: CheckContext, tokens: Tokens, what: str) -> Tokens:
    flow = ctx.flow
    reply = ctx.session.call(flow, tokens=tokens)
    outcome = ctx.outcome(reply)
    if not outcome.success:
        raise ctx.fail(f"{flow.title}: {what} was refused ({outcome.describe(reply)})")
    issued = ctx.session.issued
    return Tokens(issued(reply, flow, "access_token"), issued(reply, flow, "refresh_token"), reply, flow.name)


@check("refresh_keeps_live_token", options=Probes, traits=Traits(moves_clock=True))
def refresh_keeps_live_token(ctx: CheckContext) -> None:
    """Halfway through the access token's lifetime, a refresh answers that same access token, and it
    then works past the expiry it first had (a minute after it, through every flow of `probes`): the
    refresh renewed it. Time passes through clock_url, or is waited out up to max_wait."""
    tokens = ctx.tokens()
    lifetime = _lifetime(ctx, tokens)
    if refused := _works(ctx, tokens):
        raise PreconditionFailed(f"a fresh access token does not work: {refused}")
    ctx.let_time_pass(lifetime / 2)
    renewed = _refresh(ctx, tokens, "a refresh while the access token is live")
    if renewed.access_token != tokens.access_token:
        raise ctx.fail(
            f"{ctx.flow.title}: a refresh while the access token is live answered another access token; "
            "it must keep the live one and renew its expiry"
        )
    ctx.let_time_pass(lifetime / 2 + 60)
    if refused := _works(ctx, renewed):
        raise ctx.fail(
            f"the access token stopped working at the expiry it had before the refresh ({refused}, a minute after "
            f"it): the refresh {lifetime / 2:g} s into its {lifetime:g} s lifetime did not renew it"
        )


@check("refresh_after_expiry_works", options=Probes, traits=Traits(moves_clock=True))
def refresh_after_expiry_works(ctx: CheckContext) -> None:
    """Once the access token's stated lifetime and its tolerance have passed, a refresh with its refresh
    token succeeds and answers a new access token, which works (through every flow of `probes`). Time
    passes through clock_url, or is waited out up to max_wait."""
    tokens = ctx.tokens()
    lifetime = _lifetime(ctx, tokens)
    waited = lifetime + tolerance(ctx, lifetime) + 1
    ctx.let_time_pass(waited)
    fresh = _refresh(ctx, tokens, f"a refresh {waited:g} s after the access token was issued, past its expiry")
    if fresh.access_token == tokens.access_token:
        raise ctx.fail(f"{ctx.flow.title}: a refresh after the access token expired answered the expired one again")
    if refused := _works(ctx, fresh):
        raise ctx.fail(f"the access token a refresh gave after the old one expired does not work: {refused}")
