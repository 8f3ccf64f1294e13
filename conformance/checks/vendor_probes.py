"""Checks that need to see whether an access token still works where the document has no endpoint
that uses one: through the config's `token_probe` (a protected resource, RFC 6750): valid tokens are
accepted there, and unknown or expired ones refused with the documented code. Also which of a
document's two spellings of a parameter the target takes."""

from __future__ import annotations

import re

from conformance.checks.base import CheckContext, Traits, bogus, check
from conformance.checks.expiry import died_early, token_lifetime, tolerance, tolerance_for
from conformance.checks.options import ProbeRefusal, Tolerant
from conformance.model.errors import PreconditionFailed
from conformance.model.pointer import resolve
from conformance.model.spec import ErrorCode
from conformance.target.client import Reply
from conformance.target.tokens import Tokens


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


def _working_tokens(ctx: CheckContext) -> Tokens:
    """Fresh tokens whose access token the token probe accepts: a probe that accepts none is a
    configuration to fix (not run), never a finding about the tokens."""
    tokens = ctx.tokens()
    if not tokens.access_token or not token_works(ctx, str(tokens.access_token)):
        raise PreconditionFailed("token_probe does not accept a fresh access token; check token_probe in the config")
    return tokens


def _fresh_token(ctx: CheckContext) -> str:
    return str(_working_tokens(ctx).access_token)


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
    sent_at = ctx.session.now()
    tokens = _working_tokens(ctx)
    lifetime = token_lifetime(ctx, tokens, sent_at)
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


def _probe_error(ctx: CheckContext, reply: Reply) -> ErrorCode | None:
    """The error code of a token probe's answer: where the profile's dialect puts it in the body, else
    in the WWW-Authenticate challenge (RFC 6750 §3, `error="invalid_token"`); a resource may use either."""
    error = ctx.session.profile.error
    if error is not None and error.code:
        value = resolve(reply.json(), error.code)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return value
    match = re.search(r'error="([^"]*)"', reply.headers.get("www-authenticate", ""))
    return match.group(1) if match else None


@check("token_probe_refused", options=ProbeRefusal, traits=Traits(moves_clock=True))
def token_probe_refused(ctx: CheckContext) -> None:
    """The token probe refuses an access token that is not right, with one of `expect_error`: a made-up
    one (`token: unknown`), or one whose stated lifetime is over (`token: expired`; time passes through
    clock_url, or is waited out up to max_wait, past the expiry tolerance). A fresh token must work
    there first, so a probe that accepts nothing is a configuration to fix, not a refusal. The code is
    read from the body, where the dialect puts it, or from the WWW-Authenticate challenge (RFC 6750
    §3); any HTTP status that is not one of the probe's valid_status counts as a refusal, and so does a
    body with an error code."""
    sent_at = ctx.session.now()
    tokens = _working_tokens(ctx)
    kind = ctx.option("token", "unknown")
    if kind == "expired":
        lifetime = token_lifetime(ctx, tokens, sent_at)
        ctx.let_time_pass(lifetime + tolerance(ctx, lifetime) + 1)
        token, what = str(tokens.access_token), f"an access token past its stated lifetime of {lifetime:g} s"
    else:
        token, what = bogus("access_token"), "a made-up access token"
    reply = ctx.session.probe_token(token)
    code = _probe_error(ctx, reply)
    probe = ctx.session.config.token_probe
    accepted = probe is not None and reply.status in probe.valid_status and code is None
    wanted = tuple(ctx.option("expect_error", ()))
    if accepted:
        raise ctx.fail(f"the token probe accepted {what} (HTTP {reply.status}); it must refuse it")
    if wanted and code not in wanted:
        expected = " or ".join(f"{c}{ctx.line(c)}" for c in wanted)
        got = f"error {code}" if code is not None else f"no error code (HTTP {reply.status})"
        raise ctx.fail(f"the token probe refused {what} with {got}; expected {expected}")
    if reply.status >= 500:
        raise ctx.advise(f"the token probe refused {what} with {code}, but with HTTP {reply.status}")


# Alone on the target: a code requested meanwhile by another requirement may end the token before it
# is probed (Yixin, line 35), which would read as a refusal.
@check("token_probe_accepts", traits=Traits(needs_target_alone=True))
def token_probe_accepts(ctx: CheckContext) -> None:
    """The access token the requirement's flow issues works at the token probe: a code's exchange gives
    one, a refresh (sent with fresh tokens from the token source, which must work there first) gives
    another. A probe that refuses it is reported; that may also be a token_probe to fix in the config."""
    session = ctx.session
    flow = ctx.flow
    source = session.flow(session.profile.token_source or "")
    tokens = None if flow is source else _working_tokens(ctx)
    reply = session.call(flow, tokens=tokens)
    ctx.succeed(reply, step=f"{flow.title}: getting an access token")
    token = session.issued(reply, flow, "access_token")
    if not isinstance(token, str) or not token:
        raise PreconditionFailed(f"{flow.name} issued no access token to use")
    if not token_works(ctx, token):
        raise ctx.fail(
            f"the token probe refused the access token {flow.title} just issued; a valid token is to be "
            "accepted (or token_probe in the config is not a resource that takes this target's tokens)"
        )


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
