"""Client authentication at the token endpoint (RFC 6749 §2.3.1, §5.2)."""

from __future__ import annotations

import secrets

from ..errors import PreconditionFailed
from .base import CheckContext, check, role_param
from .options import AuthMethod

METADATA_NAMES = {"basic": "client_secret_basic", "post": "client_secret_post"}


@check("client_auth_method", options=AuthMethod)
def client_auth_method(ctx: CheckContext) -> None:
    method = ctx.option("method")
    advertised = ctx.session.metadata().get("token_endpoint_auth_methods_supported")
    if ctx.requirement.level != "MUST" and isinstance(advertised, list) and METADATA_NAMES[method] not in advertised:
        raise PreconditionFailed(f"the target does not advertise {METADATA_NAMES[method]} (optional)")
    reply = ctx.session.call(ctx.flow, client_auth=method)
    outcome = ctx.outcome(reply)
    if not outcome.success:
        raise ctx.fail(f"{ctx.flow.title} with client_secret_{method} authentication: {outcome.describe(reply)}")


@check("invalid_client_basic")
def invalid_client_basic(ctx: CheckContext) -> None:
    flow = ctx.flow
    secret = role_param(flow, "client_secret")
    reply = ctx.session.call(flow, {secret: "wrong-" + secrets.token_hex(6)}, client_auth="basic")
    outcome = ctx.outcome(reply)
    if outcome.success:
        raise PreconditionFailed("a wrong client secret was accepted (see the unknown-client requirement)")
    if reply.status != 401:
        raise ctx.fail(f"a failed HTTP Basic client authentication must get HTTP 401, got {reply.status}")
    if "www-authenticate" not in reply.headers:
        raise ctx.fail("a 401 for HTTP Basic client authentication must carry a WWW-Authenticate header")
    if outcome.error_code != "invalid_client":
        raise ctx.fail(f"a failed client authentication must be error invalid_client, got {outcome.error_code!r}")
