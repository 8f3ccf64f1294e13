"""Checks at the authorization endpoint: error redirects, unregistered redirect URIs, requests with a
wrong parameter, implicit tokens in the fragment, and PKCE (RFC 6749 §4.1.2.1, §4.2.2, §4.2.2.1;
RFC 7636 §4.6)."""

from __future__ import annotations

import secrets
from urllib.parse import urljoin, urlsplit

from conformance.checks.base import CheckContext, bogus, check, redirects_to, role_param, sent_by_role
from conformance.checks.options import Refusal, WrongParam
from conformance.model.errors import MissingPrerequisite, NotApplicable, PreconditionFailed
from conformance.model.spec import Flow
from conformance.target.client import Reply
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


def _result_carried(ctx: CheckContext, flow: Flow, reply: Reply) -> str | None:
    """The name of the result (code or access token) a redirect carries, in its query or fragment."""
    if not 300 <= reply.status < 400:
        return None
    redirect = flow.redirect or {}
    for name in dict.fromkeys((redirect.get("code_param", "code"), redirect.get("token_param", "access_token"))):
        for fragment in (False, True):
            if ctx.session.redirect_value(reply, name, fragment=fragment):
                return name
    return None


@check("authorization_refused", options=WrongParam)
def authorization_refused(ctx: CheckContext) -> None:
    """An authorization request with the parameter `wrong` made wrong is refused, never answered with
    a redirect carrying a code or an access token. A made-up client_id (x-role client_id) must not be
    redirected to the client at all (RFC 6749 §4.1.2.1, §4.2.2.1): an error page, any 4xx or a page of
    the server's own passes. Another parameter (a fixed value such as response_type) gets an
    unsupported value: an error page, or an error redirect carrying one of `expect_error`, passes.

    Why both forms: RFC 6749 §4.1.2.1 reports an invalid parameter by redirecting, but a document that
    shows no error answer leaves the error page as another reading; a redirect back to the client
    without an error is neither. The client cannot be told apart from an attacker when its id is
    unknown, so that redirect is refused in any form. A 5xx is a crash, not a refusal."""
    flow = ctx.flow
    ctx.session.require_offered(flow)  # a refusal by a server without the grant says nothing of it
    name = ctx.option("wrong")
    if name not in flow.params:
        raise PreconditionFailed(f"{flow.name} sends no parameter {name}")
    unknown_client = flow.operation.params[name].role == "client_id"
    value = bogus("client") if unknown_client else "unsupported_" + secrets.token_hex(3)
    what = f"{flow.title} with {'an unknown' if unknown_client else 'an unsupported'} {name} ({value!r})"
    reply = ctx.session.call(flow, {name: value})
    # None sent: the client's registered one (its default) is where a redirect would go.
    uri = sent_by_role(flow, ctx.session.last_sent, "redirect_uri") or ctx.session.config.redirect_uri
    if not uri:
        raise MissingPrerequisite("set redirect_uri in the target config")
    if reply.status >= 500:
        raise ctx.fail(f"{what}: the server failed with HTTP {reply.status} instead of refusing the request")
    carried = _result_carried(ctx, flow, reply)
    if carried:
        raise ctx.fail(f"{what}: the request was answered with a redirect carrying {carried}; it must be refused")
    location = urljoin(reply.exchange.url, reply.headers.get("location", ""))
    to_client = 300 <= reply.status < 400 and redirects_to(location, uri)
    if not to_client:
        return  # an error page (or a page of the server's own): refused
    if unknown_client:
        raise ctx.fail(
            f"{what}: redirected to the redirect_uri {uri}; with an unknown client the server must not "
            "redirect to it (RFC 6749 §4.1.2.1, §4.2.2.1), but inform the user"
        )
    outcome = ctx.outcome(reply)
    wanted = tuple(ctx.option("expect_error", ()))
    if not outcome.redirected_error:
        raise ctx.fail(f"{what}: redirected to {uri} without an error parameter; the request must be refused")
    if wanted and outcome.error_code not in wanted:
        expected = " or ".join(map(str, wanted))
        raise ctx.fail(f"{what}: the error redirect carries error={outcome.error_code}; expected {expected}")


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
