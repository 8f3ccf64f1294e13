"""What the target does not offer, it refuses with the RFC's codes (RFC 6749 §4.1.2.1, §5.2).

Which features are optional, and what the target offers, is data: the spec's
`x-conformance.capabilities` and conformance/capabilities.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import MissingPrerequisite, NotApplicable
from .base import REGISTRY, CheckContext, check
from .options import Refusal

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


@check("refresh_scope_not_widened_rfc", options=Refusal)
def refresh_scope_not_widened_rfc(ctx: CheckContext) -> None:
    """The refresh-scope check (checks/lifecycle.py), whose narrow tokens come from the token source.
    Where that grant is not offered, the requirement (about refresh, not about that grant) is not
    run, never not applicable."""
    try:
        REGISTRY["refresh_scope_not_widened"](ctx)
    except NotApplicable as exc:
        raise MissingPrerequisite(
            f"the narrow-scope tokens this check refreshes come from {ctx.session.profile.token_source}: {exc}"
        ) from None
