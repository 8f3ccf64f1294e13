"""Checks that need to see whether an access token still works where the document has no endpoint
that uses one: through the config's `token_probe` (a protected resource, RFC 6750). Also which of a
document's two spellings of a parameter the target takes."""

from __future__ import annotations

from conformance.checks.base import CheckContext, Traits, check
from conformance.model.errors import PreconditionFailed


def token_works(ctx: CheckContext, token: str) -> bool:
    """Whether the token probe accepts `token`; a 5xx says nothing, so it stops the check."""
    reply = ctx.session.probe_token(token)
    if reply.status >= 500:
        raise PreconditionFailed(f"token_probe failed with HTTP {reply.status}; check token_probe in the config")
    probe = ctx.session.config.token_probe
    return probe is not None and reply.status in probe.valid_status


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


@check("token_probe_expires", traits=Traits(moves_clock=True))
def token_probe_expires(ctx: CheckContext) -> None:
    """An access token stops working once the lifetime its grant stated is over."""
    session = ctx.session
    source = session.flow(session.profile.token_source or "")
    sent_at = session.now()
    tokens = ctx.tokens()
    raw = session.issued(tokens.reply, source, "expiry")
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise PreconditionFailed(f"{source.name} states no expiry to wait for")
    lifetime = raw / 1000 - sent_at if source.expiry_unit == "epoch_ms" else float(raw)
    if not tokens.access_token or not token_works(ctx, str(tokens.access_token)):
        raise PreconditionFailed("token_probe does not accept a fresh access token; check token_probe in the config")
    ctx.let_time_pass(lifetime + 1)
    if token_works(ctx, str(tokens.access_token)):
        raise ctx.fail(f"the access token still works {lifetime:g} s after it was issued, past its stated expiry")


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
