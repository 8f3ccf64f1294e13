"""Checks that bad requests are refused with the documented error."""

from __future__ import annotations

from conformance.checks.base import CheckContext, bogus, check, role_param
from conformance.checks.options import Credential, Refusal, Status
from conformance.model.errors import PreconditionFailed


@check("unknown_client", options=Refusal)
def unknown_client(ctx: CheckContext) -> None:
    """A valid request with a made-up client_id gets an error, one of `expect_error` when the dialect has
    codes."""
    flow = ctx.flow
    param = role_param(flow, "client_id")
    reply = ctx.session.call(flow, {param: bogus("client")})
    ctx.expect_error(reply, ctx.option("expect_error", ()), f"{flow.title} with an unknown {param}")


@check("bad_credential", options=Credential)
def bad_credential(ctx: CheckContext) -> None:
    """A valid request of the flow with the credential of `role` (a client secret, a password) replaced by a
    made-up value gets an error of the dialect, with one of `expect_error` when the dialect has codes."""
    flow = ctx.flow
    role = ctx.option("role")
    param = role_param(flow, role)
    reply = ctx.session.call(flow, {param: bogus(param)})  # named after the parameter: a role may be a pointer
    ctx.expect_error(reply, ctx.option("expect_error", ()), f"{flow.title} with a made-up {param}")


@check("unsupported_grant_type", options=Refusal)
def unsupported_grant_type(ctx: CheckContext) -> None:
    """A valid request with its fixed grant_type replaced by an unknown one gets an error, one of
    `expect_error` (RFC 6749 §5.2 unsupported_grant_type)."""
    flow = ctx.flow
    if "grant_type" not in flow.values:
        raise PreconditionFailed(f"{flow.name} has no fixed grant_type to replace")
    reply = ctx.session.call(flow, {"grant_type": "urn:example:unsupported"})
    ctx.expect_error(reply, ctx.option("expect_error", ()), f"{flow.title} with an unknown grant_type")


@check("error_status", options=Status)
def error_status(ctx: CheckContext) -> None:
    """A request with a made-up code (or, without one, a made-up client_id) must be refused with one of
    the HTTP statuses `expect_status`."""
    flow = ctx.flow
    param = role_param(flow, "code") if "code" in flow.required else role_param(flow, "client_id")
    reply = ctx.session.call(flow, {param: bogus(param)})
    outcome = ctx.outcome(reply)
    if outcome.success:
        raise PreconditionFailed(f"{flow.name} accepted a made-up {param}")
    allowed = tuple(ctx.option("expect_status", (400,)))
    if reply.status not in allowed:
        raise ctx.fail(f"an error must be HTTP {' or '.join(map(str, allowed))}, got {reply.status}")


@check("malformed_body")
def malformed_body(ctx: CheckContext) -> None:
    """A body that is not what the operation takes gets the dialect's error, not a crash."""
    flow = ctx.flow
    kinds = {flow.operation.params[n].location for n in flow.params}
    ctype = "application/json" if "json" in kinds else "application/x-www-form-urlencoded"
    reply = ctx.session.call(flow, raw_body=(ctype, b'{"unterminated": '))
    ctx.expect_error(reply, ctx.option("expect_error", ()), f"{flow.title} with a malformed {ctype} body")


@check("redirect_uri_mismatch", options=Refusal)
def redirect_uri_mismatch(ctx: CheckContext) -> None:
    """A valid request of the flow with a redirect_uri other than the configured one (`/elsewhere`
    appended) gets an error, one of `expect_error` (RFC 6749 §4.1.3 for a code's exchange)."""
    flow = ctx.flow
    param = role_param(flow, "redirect_uri")
    registered = ctx.session.config.redirect_uri or ""
    reply = ctx.session.call(flow, {param: registered.rstrip("/") + "/elsewhere"})
    ctx.expect_error(
        reply, ctx.option("expect_error", ()), f"{flow.title} with a redirect_uri other than the authorized one"
    )
