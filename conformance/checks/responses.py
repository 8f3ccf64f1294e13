"""Checks on single exchanges: a success looks as documented; a missing parameter is refused."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import unquote

from conformance.checks.base import CheckContext, check, redirects_to, sent_by_role
from conformance.checks.options import RequiredParam
from conformance.model.spec import Flow
from conformance.target.session import OMIT


@check("response_valid")
def response_valid(ctx: CheckContext) -> None:
    """Derived for each flow: a valid request succeeds in the dialect (a redirect flow redirects with its
    result), the answer validates against the operation's response schema, and it carries the access
    token where `issues` says."""
    flow = ctx.flow
    reply = ctx.session.call(flow)
    sent = dict(ctx.session.last_sent)
    outcome = ctx.outcome(reply)
    if reply.status >= 500:
        raise ctx.fail(f"{flow.title}: the server failed with HTTP {reply.status}")
    if flow.redirect:
        if not outcome.success:
            raise ctx.fail(f"{flow.title}: expected a redirect carrying the result, got {outcome.describe(reply)}")
        _redirects_to_sent(ctx, flow, reply.headers.get("location", ""), sent)
    elif not outcome.success:
        raise ctx.fail(f"{flow.title}: a valid request was not answered with a success: {outcome.describe(reply)}")
    problems = ctx.validator.problems(reply, flow.operation)
    if problems:
        raise ctx.fail(f"{flow.title}: the answer departs from the spec: {'; '.join(problems)}")
    for role, pointer in flow.issues.items():
        if role == "access_token" and ctx.session.issued(reply, flow, role) in (None, ""):
            raise ctx.fail(f"{flow.title}: the answer lacks {role} at {pointer} (or it is empty)")


def _redirects_to_sent(ctx: CheckContext, flow: Flow, location: str, sent: dict[str, Any]) -> None:
    """A redirect answer goes to the redirect_uri the request carried (RFC 6749 §4.1.2, §4.2.2)."""
    uri = sent_by_role(flow, sent, "redirect_uri")
    if not uri or redirects_to(location, uri):
        return
    raise ctx.fail(f"{flow.title}: the redirect must go to the redirect_uri sent, {uri}; it went to {location[:120]}")


@check("required_param", options=RequiredParam)
def required_param(ctx: CheckContext) -> None:
    """Derived for each `required` parameter: a valid request without `param` gets an error, with one of
    the flow's `on_missing` codes when the dialect has codes."""
    flow = ctx.flow
    param = ctx.option("param")
    reply = ctx.session.call(flow, {param: OMIT})
    ctx.expect_error(reply, flow.missing_codes(param), f"{flow.title} without {param}")


@check("no_store")
def no_store(ctx: CheckContext) -> None:
    """A success carries Cache-Control: no-store and Pragma: no-cache (RFC 6749 §5.1)."""
    flow = ctx.flow
    reply = ctx.session.call(flow)
    ctx.succeed(reply)
    cache = reply.headers.get("cache-control", "")
    pragma = reply.headers.get("pragma", "")
    if "no-store" not in cache.lower():
        raise ctx.fail(f"{flow.title}: a token response must carry Cache-Control: no-store, got {cache or 'none'!r}")
    if "no-cache" not in pragma.lower():
        raise ctx.fail(f"{flow.title}: a token response must carry Pragma: no-cache, got {pragma or 'none'!r}")


@check("state_echoed")
def state_echoed(ctx: CheckContext) -> None:
    """An authorization request with a fresh random `state` redirects back with exactly that state
    (RFC 6749 §4.1.2)."""
    flow = ctx.flow
    state_param = next((name for name in flow.params if flow.operation.params[name].role == "state"), "state")
    state = "s-" + secrets.token_urlsafe(12)
    reply = ctx.session.call(flow, {state_param: state})
    ctx.succeed(reply)
    fragment = bool(flow.redirect and flow.redirect.get("fragment"))
    echoed = ctx.session.redirect_value(reply, state_param, fragment=fragment)
    if echoed is None and fragment and (flow.redirect or {}).get("query_reading"):
        echoed = ctx.session.redirect_value(reply, state_param)  # the answer came in the query (a reading)
    if echoed is None or unquote(echoed) != state:
        raise ctx.fail(f"{flow.title}: the redirect must return state={state!r} unchanged, got {echoed!r}")
