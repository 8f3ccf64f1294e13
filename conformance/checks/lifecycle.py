"""Checks on sequences: codes work once, refresh tokens rotate or work once, destroy revokes."""

from __future__ import annotations

from ..errors import MissingPrerequisite, PreconditionFailed
from ..session import Tokens
from ..spec import Flow
from .base import CheckContext, check


def _role_param(flow: Flow, role: str) -> str:
    for name in flow.params:
        if flow.operation.params[name].role == role:
            return name
    raise PreconditionFailed(f"{flow.name} sends no parameter with role {role}")


@check("code_single_use")
def code_single_use(ctx: CheckContext) -> None:
    flow = ctx.flow
    param = _role_param(flow, "code")
    code = ctx.session.new_code()
    ctx.succeed(ctx.session.call(flow, {param: code}), step="the first exchange of a fresh code")
    again = ctx.session.call(flow, {param: code})
    ctx.expect_error(again, ctx.option("expect_error", ()), "exchanging the same code a second time")


def _refresh(ctx: CheckContext, tokens: Tokens) -> Tokens:
    flow = ctx.flow
    reply = ctx.session.call(flow, tokens=tokens)
    ctx.succeed(reply, step="a refresh with fresh tokens")
    return Tokens(
        ctx.session.issued(reply, flow, "access_token"),
        ctx.session.issued(reply, flow, "refresh_token"),
        reply,
    )


@check("refresh_single_use")
def refresh_single_use(ctx: CheckContext) -> None:
    tokens = ctx.tokens()
    _refresh(ctx, tokens)
    again = ctx.session.call(ctx.flow, tokens=tokens)
    ctx.expect_error(again, ctx.option("expect_error", ()), "a second refresh with the same refresh token")


@check("refresh_rotates")
def refresh_rotates(ctx: CheckContext) -> None:
    old = ctx.tokens()
    new = _refresh(ctx, old)
    for role in ("access_token", "refresh_token"):
        if getattr(new, role) is None:
            raise ctx.fail(f"the refresh answer carries no {role}")
        if getattr(new, role) == getattr(old, role):
            raise ctx.fail(f"after a refresh the {role} must change, but the same value came back")


@check("destroy_revokes")
def destroy_revokes(ctx: CheckContext) -> None:
    """After destroying token A, every flow that checks a token refuses A and still accepts B."""
    session = ctx.session
    probes = [
        f
        for f in session.profile.flows.values()
        if f.name != ctx.flow.name
        and not f.issues
        and any(f.operation.params[n].role == "access_token" for n in f.params)
    ]
    if not probes:
        raise PreconditionFailed("the profile has no flow that checks an access token")
    doomed, kept = ctx.tokens(), ctx.tokens()
    for probe in probes:
        ctx.succeed(session.call(probe, tokens=doomed), probe, step=f"{probe.name} before the destroy")
    ctx.succeed(session.call(ctx.flow, tokens=doomed), step="destroying a live token")
    for probe in probes:
        ctx.expect_error(session.call(probe, tokens=doomed), (), f"{probe.name} with a destroyed token", probe)
        reply = session.call(probe, tokens=kept)
        if not ctx.outcome(reply, probe).success:
            raise ctx.fail(f"{probe.name} refused another, live token after an unrelated destroy")


@check("refresh_scope_not_widened")
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
    reply = session.call(source, {scope_param: scopes[0]})
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
