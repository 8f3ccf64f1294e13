"""What the target does not offer, it refuses with the RFC's codes (RFC 6749 §4.1.2.1, §5.2).

Which features are optional, and what the target offers, is data: the spec's
`x-conformance.capabilities` and conformance/capabilities.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.checks.base import CheckContext, Traits, check, role_param
from conformance.checks.options import Refusal
from conformance.model.errors import MissingPrerequisite

STAND_IN = {"grant_type": "urn:example:not-offered", "response_type": "not_offered"}


@dataclass(frozen=True)
class Unoffered(Refusal):
    """`kind`: grant_type or response_type; the flow is the request template the value goes into."""

    kind: str = "grant_type"


@check("unoffered_refused", options=Unoffered)
def unoffered_refused(ctx: CheckContext) -> None:
    """Every optional grant type (or response type) the target is known not to offer, sent in an
    otherwise valid request, gets one of the RFC's refusal codes. When it offers them all, a
    made-up value stands in, so the requirement is always decided."""
    session, flow = ctx.session, ctx.flow
    kind = ctx.option("kind", "grant_type")
    caps = session.capabilities()
    missing = sorted(v for v in caps.optional.get(kind, ()) if caps.offered((kind, v)) is False)
    values = missing or [STAND_IN[kind]]
    for value in values:
        how = "not offered: " + caps.why_not((kind, value)) if value in missing else "a made-up value"
        reply = session.call(flow, {kind: value})
        ctx.expect_error(reply, ctx.option("expect_error", ()), f"{flow.title} with {kind}={value} ({how})")


@check("cross_client_refused", options=Refusal, traits=Traits(needs_second_client=True))
def cross_client_refused(ctx: CheckContext) -> None:
    """A code (or refresh token) issued to one client, presented by another, is refused
    (RFC 6749 §4.1.3: "ensure that the authorization code was issued to the authenticated
    confidential client"; §6: "the refresh token was issued to the authenticated client")."""
    session, flow = ctx.session, ctx.flow
    second = session.config.clients.get("second")
    if not second:
        raise MissingPrerequisite("set clients.second in the target config: a second client of the target")
    creds = {role_param(flow, "client_id"): second["client_id"]}
    creds[role_param(flow, "client_secret")] = second.get("client_secret", "")
    roles = {flow.operation.params[n].role for n in flow.params}
    if "code" in roles:
        code = session.new_code()
        reply = session.call(flow, {role_param(flow, "code"): code, **creds})
        what = f"{flow.title}: a code issued to the configured client, presented by clients.second"
    else:
        tokens = session.tokens(refresh=True)
        reply = session.call(flow, creds, tokens=tokens)
        what = f"{flow.title}: a refresh token issued to the configured client, presented by clients.second"
    ctx.expect_error(reply, ctx.option("expect_error", ()), what)
