"""Revocation (RFC 7009) and introspection (RFC 7662), and what a reused code does to the tokens
issued from it (RFC 6749 §4.1.2)."""

from __future__ import annotations

from typing import Any

from conformance.checks.base import CheckContext, bogus, check, role_param
from conformance.checks.options import Probes, Refusal
from conformance.model.errors import MissingPrerequisite, NotApplicable, PreconditionFailed
from conformance.model.spec import Flow


def _introspection_flow(ctx: CheckContext) -> Flow:
    for flow in ctx.session.profile.flows.values():
        if flow.operation.endpoint == "introspection_endpoint" or flow.name == "introspect":
            return flow
    raise PreconditionFailed("the profile has no introspection flow to observe tokens with")


def introspect(ctx: CheckContext, token: str) -> dict[str, Any]:
    flow = _introspection_flow(ctx)
    try:
        reply = ctx.session.call(flow, {role_param(flow, "access_token"): token})
    except NotApplicable as exc:  # nothing to observe tokens with: undecided, not inapplicable
        raise MissingPrerequisite(f"no way to see whether a token still works: {exc}") from None
    body = reply.json()
    if reply.status != 200 or not isinstance(body, dict) or not isinstance(body.get("active"), bool):
        raise PreconditionFailed(f"introspection answered HTTP {reply.status} without a boolean active member")
    return body


@check("introspection_semantics")
def introspection_semantics(ctx: CheckContext) -> None:
    """Introspecting a live access token answers 200 with `active: true` and the RFC 7662 §2.2 shape;
    introspecting a made-up token answers 200 with `active: false`."""
    flow = ctx.flow
    param = role_param(flow, "access_token")
    tokens = ctx.tokens()
    live = ctx.session.call(flow, {param: tokens.access_token})
    body = live.json()
    if live.status != 200 or not isinstance(body, dict) or body.get("active") is not True:
        raise ctx.fail(f"introspecting a live access token must answer 200 with active: true, got HTTP {live.status}")
    problems = ctx.validator.problems(live, flow.operation)
    if problems:
        raise ctx.fail(f"the introspection response departs from RFC 7662 §2.2: {'; '.join(problems)}")
    garbage = ctx.session.call(flow, {param: bogus("token")})
    body = garbage.json()
    if garbage.status != 200 or not isinstance(body, dict) or body.get("active") is not False:
        raise ctx.fail(f"introspecting an unknown token must answer 200 with active: false, got HTTP {garbage.status}")


@check("revoke_deactivates", options=Probes)
def revoke_deactivates(ctx: CheckContext) -> None:
    """Revoking a live access token answers 200 and the token then introspects as inactive; revoking a
    made-up token still answers 200 (RFC 7009 §2.2)."""
    flow = ctx.flow
    param = role_param(flow, "access_token")
    ctx.session.require_offered(flow)
    tokens = ctx.tokens()
    if not introspect(ctx, str(tokens.access_token)).get("active"):
        raise PreconditionFailed("a fresh access token does not introspect as active")
    reply = ctx.session.call(flow, {param: tokens.access_token})
    if reply.status != 200:
        raise ctx.fail(f"revoking a live access token must answer HTTP 200, got {reply.status}")
    if introspect(ctx, str(tokens.access_token)).get("active"):
        raise ctx.fail("after revocation the access token still introspects as active")
    unknown = ctx.session.call(flow, {param: bogus("token")})
    if unknown.status != 200:
        raise ctx.fail(f"revoking an invalid token must still answer HTTP 200 (RFC 7009 §2.2), got {unknown.status}")


@check("code_reuse_revokes", options=Refusal)
def code_reuse_revokes(ctx: CheckContext) -> None:
    """A code exchanged twice revokes the tokens of its first exchange (RFC 6749 §4.1.2, SHOULD): the first
    exchange's access token introspects as active, the replay is refused, and the token must then
    introspect as inactive."""
    flow = ctx.flow
    param = role_param(flow, "code")
    code = ctx.session.new_code()
    first = ctx.session.call(flow, {param: code})
    ctx.succeed(first, step="the first exchange of a fresh code")
    access = ctx.session.issued(first, flow, "access_token")
    if not introspect(ctx, str(access)).get("active"):
        raise PreconditionFailed("the access token from the first exchange does not introspect as active")
    again = ctx.session.call(flow, {param: code})
    if ctx.outcome(again).success:
        raise PreconditionFailed("the reused code was accepted (see the code single-use requirement)")
    if introspect(ctx, str(access)).get("active"):
        raise ctx.fail("after the code was reused, the access token issued from it is still active")
