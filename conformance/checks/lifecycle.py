"""Checks on sequences that need no generated examples (the properties package has the rest)."""

from __future__ import annotations

from conformance.checks.base import CheckContext, check
from conformance.checks.options import Refusal
from conformance.model.errors import MissingPrerequisite, NotApplicable, PreconditionFailed
from conformance.target.tokens import Tokens


@check("refresh_scope_not_widened", options=Refusal)
def refresh_scope_not_widened(ctx: CheckContext) -> None:
    """Tokens granted for a narrow scope cannot be refreshed into a wider one."""
    session = ctx.session
    scopes = (session.config.scope or "").split()
    if len(scopes) < 2:
        raise MissingPrerequisite("set scope in the target config to at least two scopes the client may get")
    source = session.flow(session.profile.token_source or "")
    scope_param = next((n for n, p in source.operation.params.items() if p.role == "scope"), None)
    refresh_scope = next((n for n, p in ctx.flow.operation.params.items() if p.role == "scope"), None)
    if scope_param is None or refresh_scope is None:
        raise PreconditionFailed("the token source or the refresh flow takes no scope")
    try:
        reply = session.call(source, {scope_param: scopes[0]})
    except NotApplicable as exc:  # the requirement is about refresh, not about the grant its tokens come from
        raise MissingPrerequisite(
            f"the narrow-scope tokens this check refreshes come from {source.name}: {exc}"
        ) from None
    ctx.succeed(reply, source, step=f"getting a token for scope {scopes[0]!r}")
    narrow = Tokens(
        session.issued(reply, source, "access_token"), session.issued(reply, source, "refresh_token"), reply
    )
    wide = " ".join(scopes)
    again = session.call(ctx.flow, {refresh_scope: wide}, tokens=narrow)
    outcome = ctx.outcome(again)
    if not outcome.success:
        ctx.expect_error(again, ctx.option("expect_error", ()), f"refreshing a {scopes[0]!r} token into {wide!r}")
        return
    granted = outcome.body.get("scope") if isinstance(outcome.body, dict) else None
    if granted is None or set(str(granted).split()) - {scopes[0]}:
        raise ctx.fail(
            f"refreshing a {scopes[0]!r} token asked for {wide!r} and was granted {granted or 'it (no scope field)'!r}"
        )
