"""Checks that need to see whether an access token still works where the document has no endpoint
that uses one: through the config's `token_probe` (a protected resource, RFC 6750). Also which of a
document's two spellings of a parameter the target takes."""

from __future__ import annotations

from conformance.checks.base import CheckContext, Traits, check
from conformance.checks.expiry import died_early, stated_lifetime, tolerance, tolerance_for
from conformance.checks.options import Tolerant
from conformance.model.errors import PreconditionFailed
from conformance.target.client import Reply


def probed(ctx: CheckContext, token: str) -> tuple[bool, Reply]:
    """Whether the token probe accepts `token`, and its answer; a 5xx says nothing, so it stops the check."""
    reply = ctx.session.probe_token(token)
    if reply.status >= 500:
        raise PreconditionFailed(f"token_probe failed with HTTP {reply.status}; check token_probe in the config")
    probe = ctx.session.config.token_probe
    return probe is not None and reply.status in probe.valid_status, reply


def token_works(ctx: CheckContext, token: str) -> bool:
    """Whether the token probe accepts `token` (see probed)."""
    return probed(ctx, token)[0]


def _fresh_token(ctx: CheckContext) -> str:
    tokens = ctx.tokens()
    if not tokens.access_token or not token_works(ctx, str(tokens.access_token)):
        raise PreconditionFailed("token_probe does not accept a fresh access token; check token_probe in the config")
    return str(tokens.access_token)


@check("new_code_ends_tokens", traits=Traits(needs_target_alone=True))
def new_code_ends_tokens(ctx: CheckContext) -> None:
    """Once a new code is requested (and exchanged), the access tokens obtained before stop working."""
    flow = ctx.flow
    earlier = _fresh_token(ctx)
    ctx.succeed(ctx.session.call(flow), step="exchanging a newly requested code")
    if token_works(ctx, earlier):
        raise ctx.fail("after a new code was requested and exchanged, the access token obtained before still works")


@check("token_probe_expires", options=Tolerant, traits=Traits(moves_clock=True))
def token_probe_expires(ctx: CheckContext) -> None:
    """An access token works through the token probe until the tolerance before the lifetime its grant
    stated is over, and stops working from the tolerance after; the tolerance is the requirement's
    `tolerance`, else the spec's expiry_tolerance, else 2 % of the lifetime (5 s to 1 h). One refused
    early fails only if a fresh one, probed at once, works (it died early); else it is not run."""
    session = ctx.session
    source = session.flow(session.profile.token_source or "")
    sent_at = session.now()
    tokens = ctx.tokens()
    lifetime = stated_lifetime(ctx, source, session.issued(tokens.reply, source, "expiry"), sent_at)
    if not tokens.access_token or not token_works(ctx, str(tokens.access_token)):
        raise PreconditionFailed("token_probe does not accept a fresh access token; check token_probe in the config")
    allowance = tolerance(ctx, lifetime)
    before = max(lifetime - allowance, 0)
    ctx.let_time_pass(before)
    works, reply = probed(ctx, str(tokens.access_token))
    if not works:
        what = f"an access token used {before:.0f} s into its stated {lifetime:.0f} s lifetime"
        died_early(ctx, what, reply, lambda: probed(ctx, _fresh_token_unchecked(ctx)))
    ctx.let_time_pass(lifetime + allowance + 1 - before)
    if token_works(ctx, str(tokens.access_token)):
        raise ctx.fail(
            f"the access token still works {lifetime + allowance + 1:g} s after it was issued, past its stated "
            f"{lifetime:g} s lifetime and {tolerance_for(ctx).describe(lifetime)}"
        )


def _fresh_token_unchecked(ctx: CheckContext) -> str:
    """A fresh access token from the token source (a refused grant stops the check as not run)."""
    tokens = ctx.tokens()
    if not tokens.access_token:
        raise PreconditionFailed("the token source issued no access token")
    return str(tokens.access_token)


@check("spelling_followed")
def spelling_followed(ctx: CheckContext) -> None:
    """The target takes the spec's spelling of each parameter (the example body, the SDK's wire
    format); a target that takes only another spelling the document uses is reported, and the suite
    sends that spelling to it everywhere else."""
    flow = ctx.flow
    reply = ctx.session.call(flow)
    ctx.succeed(reply, step="a valid request in the spelling the target takes")
    for name in flow.params:
        taken = ctx.session.spellings.get((flow.operation.id, name))
        if taken is not None:
            raise ctx.fail(
                f"{flow.title}: the target follows the parameter table's spelling {taken!r} and refuses the "
                f"example body's {name!r}; clients that send the example body fail against it"
            )
