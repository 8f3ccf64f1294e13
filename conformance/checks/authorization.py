"""Checks at the authorization endpoint: error redirects, unregistered redirect URIs, implicit
tokens in the fragment, and PKCE (RFC 6749 §4.1.2.1, §4.2.2; RFC 7636 §4.6)."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from conformance.checks.base import CheckContext, check, role_param
from conformance.checks.options import Refusal
from conformance.model.errors import NotApplicable, PreconditionFailed
from conformance.target.pkce import s256


@check("unregistered_redirect_refused")
def unregistered_redirect_refused(ctx: CheckContext) -> None:
    """An authorization request with an unregistered redirect_uri (https://attacker.example/cb) must not
    be redirected there (RFC 6749 §3.1.2.4, §4.1.2.1)."""
    flow = ctx.flow
    param = role_param(flow, "redirect_uri")
    evil = "https://attacker.example/cb"
    reply = ctx.session.call(flow, {param: evil})
    location = reply.headers.get("location", "")
    if 300 <= reply.status < 400 and location.startswith(evil):
        raise ctx.fail(f"{flow.title}: redirected to the unregistered redirect_uri {evil}")


@check("authorize_error_redirect", options=Refusal)
def authorize_error_redirect(ctx: CheckContext) -> None:
    """A request that fails for another reason than the redirect URI comes back as an error
    redirect to the registered URI, with the error in the query and the state echoed."""
    flow = ctx.flow
    registered = ctx.session.config.redirect_uri
    if not registered:
        raise PreconditionFailed("set redirect_uri in the target config")
    state = "s-" + secrets.token_urlsafe(8)
    reply = ctx.session.call(flow, {"response_type": "unsupported_" + secrets.token_hex(3), "state": state})
    location = reply.headers.get("location", "")
    if not (300 <= reply.status < 400 and location.startswith(registered)):
        raise ctx.fail(
            f"{flow.title}: an unsupported response_type must redirect to {registered} with an error, "
            f"got HTTP {reply.status}"
        )
    outcome = ctx.outcome(reply)
    wanted = tuple(ctx.option("expect_error", ()))
    if outcome.error_code not in wanted:
        raise ctx.fail(
            f"{flow.title}: the error redirect must carry error={' or '.join(map(str, wanted))}, "
            f"got {outcome.error_code!r}"
        )
    query = urlsplit(location).query
    if "error=" not in query:
        raise ctx.fail(f"{flow.title}: the error must be in the query of the redirect URI, not the fragment")
    if ctx.session.redirect_value(reply, "state") != state:
        raise ctx.fail(f"{flow.title}: the error redirect must echo state={state!r}")


@check("implicit_fragment_only")
def implicit_fragment_only(ctx: CheckContext) -> None:
    """An implicit authorization redirects with the access token in the fragment, never in the query
    (RFC 6749 §4.2.2)."""
    flow = ctx.flow
    reply = ctx.session.call(flow)
    location = reply.headers.get("location", "")
    query = urlsplit(location.split("#", 1)[0]).query
    if "access_token=" in query:
        raise ctx.fail(f"{flow.title}: the access token is in the query of the redirect; it belongs in the fragment")
    ctx.succeed(reply, step="an implicit authorization")


@check("pkce_verified", options=Refusal)
def pkce_verified(ctx: CheckContext) -> None:
    """A code bound to an S256 challenge is exchanged only with its verifier (RFC 7636 §4.6)."""
    session = ctx.session
    caps = session.capabilities()
    declared = caps.member("code_challenge_methods_supported")
    if declared is not None and (not isinstance(declared[0], list) or "S256" not in declared[0]):
        raise NotApplicable(f"the target does not offer PKCE with S256: {declared[1]} lists {declared[0]!r}")
    if declared is None and caps.metadata:
        raise NotApplicable(
            f"the target's metadata ({caps.metadata_url}) has no code_challenge_methods_supported: "
            "it does not support PKCE (RFC 8414 §2); set capabilities.code_challenge_methods_supported if it does"
        )
    flow = ctx.flow
    code_param = role_param(flow, "code")
    wanted = ctx.option("expect_error", ())

    def bound_code() -> tuple[str, str]:
        verifier = secrets.token_urlsafe(48)
        code = session.new_code({"code_challenge": s256(verifier), "code_challenge_method": "S256"})
        return code, verifier

    code, _ = bound_code()
    wrong = session.call(flow, {code_param: code, "code_verifier": secrets.token_urlsafe(48)})
    ctx.expect_error(wrong, wanted, "exchanging a PKCE-bound code with the wrong code_verifier")
    code, _ = bound_code()
    # RFC 7636 names invalid_grant for a verifier that does not match; a missing one is also a
    # missing parameter (RFC 6749 §5.2 invalid_request).
    missing = (*wanted, "invalid_request")
    ctx.expect_error(
        session.call(flow, {code_param: code}), missing, "exchanging a PKCE-bound code without code_verifier"
    )
    code, verifier = bound_code()
    ctx.succeed(
        session.call(flow, {code_param: code, "code_verifier": verifier}), step="exchanging with the right verifier"
    )
