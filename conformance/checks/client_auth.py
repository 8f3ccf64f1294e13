"""Client authentication at the token endpoint (RFC 6749 §2.3.1, §5.2)."""

from __future__ import annotations

import secrets

from conformance.checks.base import CheckContext, check, role_param
from conformance.checks.options import AuthMethod
from conformance.model.errors import NotApplicable, PreconditionFailed

METADATA_NAMES = {"basic": "client_secret_basic", "post": "client_secret_post"}


@check("client_auth_method", options=AuthMethod)
def client_auth_method(ctx: CheckContext) -> None:
    """A request authenticated with `method` works. An optional method (MAY) the target does not
    list in token_endpoint_auth_methods_supported, or refuses with invalid_client ("unsupported
    authentication method", RFC 6749 §5.2), is not applicable; a MUST method is judged regardless."""
    method = ctx.option("method")
    name = METADATA_NAMES[method]
    optional = ctx.requirement.level != "MUST"
    declared = ctx.session.capabilities().member("token_endpoint_auth_methods_supported")
    if optional and declared is not None and isinstance(declared[0], list) and name not in declared[0]:
        raise NotApplicable(f"the target does not offer {name}: {declared[1]} lists {declared[0]}")
    reply = ctx.session.call(ctx.flow, client_auth=method)
    outcome = ctx.outcome(reply)
    if optional and outcome.error_code == "invalid_client":
        raise NotApplicable(
            f"the target refused {name} with invalid_client (RFC 6749 §5.2: unsupported authentication method), "
            "so it does not offer it to this client"
        )
    if not outcome.success:
        raise ctx.fail(f"{ctx.flow.title} with client_secret_{method} authentication: {outcome.describe(reply)}")


@check("invalid_client_basic")
def invalid_client_basic(ctx: CheckContext) -> None:
    """A wrong client secret sent with HTTP Basic gets HTTP 401 with a WWW-Authenticate header and the
    error invalid_client (RFC 6749 §5.2)."""
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
