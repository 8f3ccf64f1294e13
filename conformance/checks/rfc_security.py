"""RFC 6749's core security checks beyond the grants themselves: made-up and malformed codes,
unknown scopes, the §5.2 error character set, the code lifetime (RFC 6749 §4.1.2, §5.2), RFC 8414
metadata, RFC 7662 §2.1's authorization of introspection, and RFC 9700 §2.1.1's PKCE downgrade.

Each is judged by what the RFC says; where a correct server may do otherwise (ignore a scope,
publish no metadata, not offer introspection), the requirement is not applicable or not run,
with the reason.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from conformance.checks.base import CheckContext, Traits, bogus, check, role_param
from conformance.checks.expiry import tolerance
from conformance.checks.options import Lifetime, Refusal
from conformance.model.errors import MissingPrerequisite, NotApplicable, PreconditionFailed
from conformance.model.spec import Flow
from conformance.target.capabilities import PKCE_METHODS
from conformance.target.client import Reply
from conformance.target.code_source import AuthorizationRefused
from conformance.target.discovery import find_metadata, metadata_candidates
from conformance.target.session import OMIT

# RFC 6749 §5.2 (and §4.1.2.1): error, error_description: %x20-21 / %x23-5B / %x5D-7E;
# error_uri: a URI-reference (Appendix A.8), so also no space.
ERROR_CHARS = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]*")
URI_CHARS = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
# Values outside what the set allows, sent where a server might quote them in its description.
HOSTILE = 'x"\\\u00e9\u2603'


def operation_param(flow: Flow, role: str) -> str:
    """The parameter of `flow`'s operation (sent or not) that carries `role`."""
    for name, param in flow.operation.params.items():
        if param.role == role:
            return name
    raise PreconditionFailed(f"{flow.operation.id} takes no parameter with role {role}")


# -- codes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BadCode(Refusal):
    """`malformed_error`: the codes a code outside the VSCHAR syntax may get (`expect_error`: an unknown one)."""

    malformed_error: tuple[str | int, ...] = ()


@check("bad_code_refused", options=BadCode)
def bad_code_refused(ctx: CheckContext) -> None:
    """A made-up code gets invalid_grant (RFC 6749 §5.2: "the provided authorization grant ... is
    invalid"). A code outside the syntax of Appendix A.11 (code = 1*VSCHAR) is also an invalid
    grant, but it is a malformed parameter value too (§5.2 invalid_request), so either code passes."""
    session, flow = ctx.session, ctx.flow
    param = role_param(flow, "code")
    session.require_offered(flow)
    unknown = session.call(flow, {param: bogus("code")})
    ctx.expect_error(unknown, ctx.option("expect_error", ()), f"{flow.title} with a made-up code")
    malformed = f"bogus-c\u00f6de-\u2603\t{secrets.token_hex(4)}"
    reply = session.call(flow, {param: malformed})
    wanted = ctx.option("malformed_error", ()) or ctx.option("expect_error", ())
    ctx.expect_error(reply, wanted, f"{flow.title} with a code outside the VSCHAR syntax (RFC 6749 Appendix A.11)")


# -- scope ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeFlows(Refusal):
    """`fallbacks`: other flows that take a scope, tried in order when the requirement's flow is not
    offered (an authorization request's code is exchanged to see the scope granted)."""

    fallbacks: tuple[str, ...] = ()


@check("unknown_scope_refused", options=ScopeFlows)
def unknown_scope_refused(ctx: CheckContext) -> None:
    """The configured scope plus a made-up one gets invalid_scope (RFC 6749 §5.2: "the requested scope
    is invalid, unknown, ..."; §4.1.2.1 at the authorization endpoint). §3.3 lets the server ignore
    part of a request instead, provided the answer's `scope` says what it granted: a grant without
    the made-up scope passes too; one that grants it (or omits `scope`, meaning "as requested") fails."""
    session = ctx.session
    configured = session.config.scope
    if not configured:
        raise MissingPrerequisite(
            "set scope in the target config (the scope the client may ask for): a made-up scope is added "
            "to it, and a target without configured scopes cannot be told apart from one that ignores them"
        )
    made_up = f"bogus-scope-{secrets.token_hex(4)}"
    requested = f"{configured} {made_up}"
    reasons: list[str] = []
    for name in (ctx.requirement.flow or "", *ctx.option("fallbacks", ())):
        flow = session.flow(name)
        try:
            session.require_offered(flow)
            scope = operation_param(flow, "scope")
            reply = session.call(flow, {scope: requested})
            if flow.redirect:
                _judge_authorization(ctx, flow, reply, made_up)
            else:
                _judge_scope_grant(ctx, flow, reply, made_up)
            return
        except (NotApplicable, MissingPrerequisite) as exc:
            reasons.append(f"{flow.name}: {exc}")
    raise MissingPrerequisite("no flow that takes a scope could be used: " + "; ".join(reasons))


def _judge_scope_grant(ctx: CheckContext, flow: Flow, reply: Reply, made_up: str) -> None:
    what = f"{flow.title} asking for the made-up scope {made_up!r} besides the configured one"
    if not ctx.outcome(reply, flow).success:
        ctx.expect_error(reply, ctx.option("expect_error", ()), what, flow)
        return
    body = reply.json()
    granted = body.get("scope") if isinstance(body, Mapping) else None
    if granted is None:
        raise ctx.fail(
            f"{what}: granted without a scope member, which means the scope requested was granted "
            "(RFC 6749 §5.1, §3.3); an unknown scope gets invalid_scope (§5.2), or is left out and the answer says so"
        )
    if made_up in str(granted).split():
        raise ctx.fail(f"{what}: the made-up scope was granted (scope={granted!r}); it must get invalid_scope (§5.2)")


def _judge_authorization(ctx: CheckContext, flow: Flow, reply: Reply, made_up: str) -> None:
    """At the authorization endpoint: an invalid_scope error redirect, or a code whose exchange grants
    no made-up scope."""
    outcome = ctx.outcome(reply, flow)
    what = f"{flow.title} asking for the made-up scope {made_up!r} besides the configured one"
    if not outcome.success:
        ctx.expect_error(reply, ctx.option("expect_error", ()), what, flow)
        return
    code = ctx.session.redirect_value(reply, flow.redirect.get("code_param", "code")) if flow.redirect else None
    exchange = next(
        (
            f
            for f in ctx.session.profile.flows.values()
            if not f.redirect and any(f.operation.params[n].role == "code" for n in f.params)
        ),
        None,
    )
    if not code or exchange is None:
        raise PreconditionFailed(f"{flow.name} redirected without a code to exchange")
    ctx.session.masker.register(code, "code")
    token = ctx.session.call(exchange, {role_param(exchange, "code"): code})
    ctx.succeed(token, exchange, step="exchanging the code issued for the made-up scope")
    _judge_scope_grant(ctx, exchange, token, made_up)


# -- error replies --------------------------------------------------------------------------


def _error_fields(reply: Reply) -> Mapping[str, Any] | None:
    """The §5.2 error members of a JSON error, or of an error redirect's query or fragment."""
    location = reply.headers.get("location", "")
    if 300 <= reply.status < 400 and "error=" in location:
        parts = urlsplit(location)
        for part in (parts.query, parts.fragment):
            fields = dict(parse_qsl(part, keep_blank_values=True))
            if "error" in fields:
                return fields
    body = reply.json()
    if isinstance(body, Mapping) and "error" in body:
        return body
    return None


def error_charset_problems(fields: Mapping[str, Any]) -> list[str]:
    problems = []
    for name in ("error", "error_description"):
        if name not in fields:
            continue
        value = fields[name]
        if not isinstance(value, str):
            problems.append(f"{name} is not a string: {value!r}")
        elif not ERROR_CHARS.fullmatch(value):
            bad = sorted({c for c in value if not ERROR_CHARS.fullmatch(c)})
            problems.append(f"{name} {value!r} has characters outside %x20-21 / %x23-5B / %x5D-7E: {bad!r}")
    if "error_uri" in fields:
        uri = fields["error_uri"]
        if not isinstance(uri, str) or not URI_CHARS.fullmatch(uri):
            problems.append(f"error_uri {uri!r} is not a URI within %x21 / %x23-5B / %x5D-7E")
    return problems


@check("error_charset")
def error_charset(ctx: CheckContext) -> None:
    """Errors use the §5.2 character set, even when the request was full of quotes, backslashes and
    non-ASCII (a server quoting what it refuses must escape it): an unsupported grant_type, a made-up
    code, a missing code and an unknown client, each carrying such characters."""
    session, flow = ctx.session, ctx.flow
    session.require_offered(flow)
    code = role_param(flow, "code")
    hostile = HOSTILE + secrets.token_hex(3)
    provocations: list[tuple[str, dict[str, Any]]] = [
        (f"grant_type={hostile!r}", {"grant_type": hostile}),
        (f"code={hostile!r}", {code: hostile}),
        ("no code", {code: OMIT}),
        (f"client_id={hostile!r}", {role_param(flow, "client_id"): hostile}),
    ]
    judged = 0
    for what, overrides in provocations:
        reply = session.call(flow, overrides)
        fields = _error_fields(reply)
        if fields is None:
            continue
        judged += 1
        problems = error_charset_problems(fields)
        if problems:
            raise ctx.fail(f"{flow.title} with {what}: {'; '.join(problems)} (RFC 6749 §5.2)")
    if not judged:
        raise PreconditionFailed(f"{flow.name} answered none of the bad requests with an error to judge")


# -- the code lifetime ----------------------------------------------------------------------


@check("code_lifetime_recommended", options=Lifetime, traits=Traits(moves_clock=True))
def code_lifetime_recommended(ctx: CheckContext) -> None:
    """A code is refused once `seconds` (RFC 6749 §4.1.2: ten minutes, RECOMMENDED) and their
    tolerance (the requirement's `tolerance`, else 2 %, 5 s to 1 h) have passed. Observable only with a
    movable clock (clock_url) or by waiting (max_wait)."""
    session, flow = ctx.session, ctx.flow
    lifetime = float(ctx.option("seconds", 600.0))
    waited = lifetime + tolerance(ctx, lifetime, stated=False) + 1
    config = session.config
    if not config.clock_url and waited > config.max_wait:
        raise MissingPrerequisite(
            f"a code's lifetime is seen only after {waited:g} s: set clock_url in the target config "
            f"(a test-only URL that moves the target's clock), or max_wait: {waited:g} to wait it out"
        )
    session.require_offered(flow)
    param = role_param(flow, "code")
    code = session.new_code()
    if config.clock_url:
        session.move_clock(waited)
    else:
        time.sleep(waited)
    reply = session.call(flow, {param: code})
    if ctx.outcome(reply).success:
        raise ctx.fail(
            f"{flow.title}: a code was exchanged {waited:g} s after it was issued; a lifetime of at most "
            f"{lifetime:g} s is RECOMMENDED (RFC 6749 §4.1.2)"
        )


# -- PKCE downgrade (RFC 9700 §2.1.1) -------------------------------------------------------


@check("pkce_downgrade_refused", options=Refusal)
def pkce_downgrade_refused(ctx: CheckContext) -> None:
    """A code issued for an authorization request without code_challenge, exchanged with a
    code_verifier, is refused: RFC 9700 §2.1.1 ("a token request containing a code_verifier
    parameter is accepted only if a code_challenge parameter was present in the authorization
    request"). A target without PKCE is not applicable (it ignores the unknown parameter, §3.2)."""
    session, flow = ctx.session, ctx.flow
    caps = session.capabilities()
    declared = caps.member(PKCE_METHODS)
    if declared is not None and not declared[0]:
        raise NotApplicable(f"the target does not offer PKCE: {declared[1]} lists {declared[0]!r}")
    if declared is None and caps.metadata:
        raise NotApplicable(
            f"the target's metadata ({caps.metadata_url}) has no {PKCE_METHODS}: it does not support PKCE "
            f"(RFC 8414 §2); set capabilities.{PKCE_METHODS} if it does"
        )
    session.require_offered(flow)
    param = role_param(flow, "code")
    try:  # a code whose authorization request carries no code_challenge (the suite adds one otherwise)
        code = session.new_code({"code_challenge": OMIT, "code_challenge_method": OMIT})
    except AuthorizationRefused as exc:
        if exc.error != "invalid_request":
            raise
        raise NotApplicable(
            f"the target issues no code without a code_challenge (it requires PKCE, RFC 7636 §4.4.1), so no "
            f"downgrade is possible: {exc}"
        ) from None
    origin = session.code_origins.get(code)
    if origin is None or not origin.known:
        raise MissingPrerequisite(
            f"the code came from {origin.source if origin else 'a code source'}, which does not say whether its "
            "authorization request carried a code_challenge: have code_command print JSON naming the parameters "
            "it used, or let the suite use the authorization endpoint"
        )
    if origin.carried("code_challenge"):
        raise MissingPrerequisite(
            f"codes from {origin.source} are issued with a code_challenge: there is no code without PKCE to try"
        )
    reply = session.call(flow, {param: code, "code_verifier": secrets.token_urlsafe(48)})
    ctx.expect_error(
        reply,
        ctx.option("expect_error", ()),
        f"{flow.title}: a code_verifier for a code whose authorization request had no code_challenge",
    )


# -- RFC 8414 metadata ----------------------------------------------------------------------


def fetch_metadata(ctx: CheckContext) -> tuple[str, dict[str, Any]]:
    """The metadata document and the URL it was fetched from, looked for where the session looks
    (`discovery.metadata_candidates`), fetched again so the check's evidence shows it."""
    session = ctx.session
    urls = metadata_candidates(session.base_url, session.profile.discovery)
    url, body = find_metadata(lambda where: session.client.send("GET", where), urls)
    if url is None:
        raise NotApplicable(
            "the target publishes no authorization server metadata (RFC 8414 is optional): "
            + ", ".join(urls)
            + " answered no JSON object"
        )
    return url, body


def issuers_for(url: str, suffixes: tuple[str, ...] | list[str]) -> set[str]:
    """The issuers whose metadata lives at `url`: the well-known suffix inserted after the host
    (RFC 8414 §3.1) or appended (RFC 8414 §5, OpenID Connect Discovery §4); no terminating "/"."""
    parts = urlsplit(url)
    found = set()
    for suffix in suffixes:
        if parts.path.endswith(suffix):
            found.add(urlunsplit((parts.scheme, parts.netloc, parts.path[: -len(suffix)], "", "")).rstrip("/"))
        if parts.path == suffix or parts.path.startswith(suffix + "/"):
            found.add(urlunsplit((parts.scheme, parts.netloc, parts.path[len(suffix) :], "", "")).rstrip("/"))
    return found


def _is_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return bool(parts.scheme and parts.netloc)


@check("metadata_required_members")
def metadata_required_members(ctx: CheckContext) -> None:
    """RFC 8414 §2: issuer and response_types_supported are REQUIRED; authorization_endpoint unless no
    grant type uses it; token_endpoint unless only the implicit grant is supported (grant_types_supported
    defaults to authorization_code and implicit)."""
    url, metadata = fetch_metadata(ctx)
    problems = []
    issuer = metadata.get("issuer")
    if not _is_url(issuer):
        problems.append(f"issuer is REQUIRED and a URL, got {issuer!r}")
    elif urlsplit(issuer).query or urlsplit(issuer).fragment:
        problems.append(f"issuer {issuer!r} must have no query or fragment component")
    response_types = metadata.get("response_types_supported")
    if not isinstance(response_types, list) or not all(isinstance(v, str) for v in response_types):
        problems.append(f"response_types_supported is REQUIRED, a JSON array of strings, got {response_types!r}")
    grants = metadata.get("grant_types_supported", ["authorization_code", "implicit"])
    if not isinstance(grants, list):
        problems.append(f"grant_types_supported must be a JSON array, got {grants!r}")
        grants = ["authorization_code", "implicit"]
    if {"authorization_code", "implicit"} & set(map(str, grants)) and not _is_url(
        metadata.get("authorization_endpoint")
    ):
        problems.append(
            f"authorization_endpoint is REQUIRED (grant types {grants} use it), got "
            f"{metadata.get('authorization_endpoint')!r}"
        )
    if set(map(str, grants)) != {"implicit"} and not _is_url(metadata.get("token_endpoint")):
        problems.append(
            f"token_endpoint is REQUIRED (not only the implicit grant is supported), got "
            f"{metadata.get('token_endpoint')!r}"
        )
    if problems:
        raise ctx.fail(f"the metadata at {url}: {'; '.join(problems)} (RFC 8414 §2)")


@check("metadata_issuer_matches")
def metadata_issuer_matches(ctx: CheckContext) -> None:
    """RFC 8414 §3.3: the issuer is identical to the issuer identifier the well-known suffix was added
    to, to form the URL the metadata was fetched from (a terminating "/" aside, §3.1)."""
    url, metadata = fetch_metadata(ctx)
    expected = issuers_for(url, list(ctx.session.profile.discovery))
    issuer = metadata.get("issuer")
    if not isinstance(issuer, str) or issuer.rstrip("/") not in expected:
        wanted = " or ".join(sorted(expected))
        raise ctx.fail(
            f"the metadata fetched from {url} names issuer {issuer!r}; RFC 8414 §3.3 requires {wanted} "
            "(if the target was reached under another name than its issuer, point --target at the issuer)"
        )


# -- introspection (RFC 7662 §2.1) ----------------------------------------------------------


@check("introspection_requires_auth")
def introspection_requires_auth(ctx: CheckContext) -> None:
    """RFC 7662 §2.1: "the endpoint MUST also require some form of authorization to access this
    endpoint". A live access token, introspected without client authentication (no credentials in
    the body, no Authorization header), is refused: any 3xx or 4xx (typically 401 invalid_client,
    §2.3); an answer (any 2xx) or a crash fails."""
    session, flow = ctx.session, ctx.flow
    session.require_offered(flow)
    tokens = ctx.tokens()
    overrides: dict[str, Any] = {role_param(flow, "access_token"): tokens.access_token}
    for name in flow.params:
        if flow.operation.params[name].role in {"client_id", "client_secret"}:
            overrides[name] = OMIT
    reply = session.call(flow, overrides)
    if reply.status >= 500:
        raise ctx.fail(f"{flow.title} without client authentication: the server failed with HTTP {reply.status}")
    if 200 <= reply.status < 300:
        body = reply.json()
        told = " and told whether the token is active" if isinstance(body, dict) and "active" in body else ""
        raise ctx.fail(
            f"{flow.title} without client authentication was answered (HTTP {reply.status}){told}; the endpoint "
            "must require authorization (RFC 7662 §2.1), e.g. 401 invalid_client"
        )
