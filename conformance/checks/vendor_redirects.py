"""Checks at a vendor's authorization endpoint and on its HTTP methods: both documented methods
work, the consent redirect goes to the redirect_uri sent and names the code exactly as documented,
and an omitted redirect_uri falls back to the registered one."""

from __future__ import annotations

from conformance.checks.base import CheckContext, check, redirects_to, role_param
from conformance.model.errors import MissingPrerequisite
from conformance.target.session import OMIT


@check("method_accepted")
def method_accepted(ctx: CheckContext) -> None:
    """The flow's operation uses the second of the document's methods ("GET/POST"): a valid
    request sent that way succeeds. The answer's shape is its own RESPONSE requirement."""
    flow = ctx.flow
    reply = ctx.session.call(flow)
    outcome = ctx.outcome(reply)
    if not outcome.success:
        raise ctx.fail(
            f"{flow.title}: the document allows {flow.operation.method} {flow.operation.path}, but a valid "
            f"{flow.operation.method} request got {outcome.describe(reply)}"
        )


def _redirect_target(ctx: CheckContext, location: str, expected: str, what: str) -> str:
    """What follows `expected` in the redirect's Location; fails unless the redirect goes there."""
    if not redirects_to(location, expected):
        raise ctx.fail(
            f"{ctx.flow.title}: {what} must redirect to {expected}, it redirected to {location or 'nowhere'}"
        )
    return location[len(expected) :]


@check("redirect_carries_code")
def redirect_carries_code(ctx: CheckContext) -> None:
    """The consent redirect goes to the redirect_uri sent and carries a parameter named exactly as
    the document names the code (`auth_code=` is not `code=`), introduced by `?` or `&`."""
    flow = ctx.flow
    sent = ctx.session.config.redirect_uri
    if not sent:
        raise MissingPrerequisite("set redirect_uri in the target config")
    name = (flow.redirect or {}).get("code_param", "code")
    reply = ctx.session.call(flow, {role_param(flow, "redirect_uri"): sent})
    if not 300 <= reply.status < 400:
        raise ctx.fail(f"{flow.title}: expected a redirect to {sent} with {name}=..., got HTTP {reply.status}")
    rest = _redirect_target(ctx, reply.headers.get("location", ""), sent, "the consent redirect")
    if not ctx.session.redirect_value(reply, name):
        raise ctx.fail(f"{flow.title}: the redirect to {sent} carries no parameter named {name} ({rest[:80]!r})")


@check("redirect_uri_default")
def redirect_uri_default(ctx: CheckContext) -> None:
    """A request without redirect_uri is answered at the client's registered redirect URL (the
    config's redirect_uri), with the flow's result rather than an error."""
    flow = ctx.flow
    registered = ctx.session.config.redirect_uri
    if not registered:
        raise MissingPrerequisite("set redirect_uri in the target config to the client's registered redirect URL")
    reply = ctx.session.call(flow, {role_param(flow, "redirect_uri"): OMIT})
    if not 300 <= reply.status < 400:
        raise ctx.fail(
            f"{flow.title} without redirect_uri: expected a redirect to the registered {registered}, "
            f"got {ctx.outcome(reply).describe(reply)}"
        )
    _redirect_target(ctx, reply.headers.get("location", ""), registered, "a request without redirect_uri")
    outcome = ctx.outcome(reply)
    if not outcome.success:
        raise ctx.fail(
            f"{flow.title} without redirect_uri: redirected to {registered} with {outcome.describe(reply)} "
            "instead of the flow's result"
        )
