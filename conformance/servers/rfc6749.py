"""Reference server for the `rfc6749` profile: OAuth 2.0 itself (RFC 6749), with PKCE (RFC 7636),
revocation (RFC 7009), introspection (RFC 7662) and RFC 8414 metadata.

The authorization endpoint is guarded by a login page and a consent page, the way real servers are:
GET /authorize without a session redirects to `login?next=<authorize path+query>`; the login form posts
username, password, csrf and next; the consent form posts confirm=yes and consent_csrf back to
`authorize?<same query>`. Sessions, CSRF values, codes and tokens all live in `state.grants`.
Choices the RFCs leave open are noted where they are made.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from conformance.servers.base import Grant, ServerState, basic_credentials, race_window, test_routes, touch
from conformance.servers.modifiers import drop, drop_headers

ACCESS_LIFETIME = 3600  # seconds; RFC 6749 leaves the lifetime to the server
CODE_LIFETIME = 600  # RFC 6749 §4.1.2 recommends at most ten minutes
SCOPES = ("read", "write")
GRANT_TYPES = ("authorization_code", "implicit", "password", "client_credentials", "refresh_token")
RESPONSE_TYPES = {"code": "authorization_code", "token": "implicit"}
BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="oauth2"'}

# Capability switches: correct servers that offer less, the way real ones are configured. The suite
# must stay green against each (tests/test_capability_switches.py); they are not faults.
SWITCHES = {
    "no_implicit": "the implicit grant is off: response_type=token gets unsupported_response_type (§4.2.2.1)",
    "no_password": "the password grant is off: it gets unsupported_grant_type (RFC 6749 §5.2)",
    "grants_per_client": "each client is registered for one grant (app-1: code and refresh, app-pw: password, "
    "app-cc: client credentials, app-imp: implicit); others get unauthorized_client (§5.2)",
    "no_metadata": "no RFC 8414 metadata: /.well-known/oauth-authorization-server answers 404",
}


@dataclass(frozen=True)
class Registered:
    """A registered client: its secret, redirect URI and the grants it may use."""

    secret: str
    redirect_uri: str
    grants: frozenset[str]


def registered_clients(state: ServerState) -> dict[str, Registered]:
    """The clients this server knows: app-1 (the reference config's), app-2 (a second client for
    cross-client checks), and with grants_per_client one client per grant."""
    client = state.client
    every = frozenset(GRANT_TYPES)
    clients = {
        client.client_id: Registered(client.client_secret, client.redirect_uri, every),
        SECOND_CLIENT[0]: Registered(SECOND_CLIENT[1], client.redirect_uri, every),
    }
    if "grants_per_client" in switches(state):
        clients[client.client_id] = Registered(
            client.client_secret, client.redirect_uri, frozenset({"authorization_code", "refresh_token"})
        )
        for client_id, (secret, grants) in PER_GRANT_CLIENTS.items():
            clients[client_id] = Registered(secret, client.redirect_uri, frozenset(grants))
    return clients


SECOND_CLIENT = ("app-2", "secret-2")
PER_GRANT_CLIENTS = {
    "app-pw": ("secret-pw", ("password", "refresh_token")),
    "app-cc": ("secret-cc", ("client_credentials",)),
    "app-imp": ("secret-imp", ("implicit",)),
}


def switches(state: ServerState) -> set[str]:
    """The capability switches that are on (kept on the state; tests set and clear them)."""
    return state.__dict__.setdefault("switches", set())


def offered_grants(state: ServerState) -> list[str]:
    off = {"no_implicit": "implicit", "no_password": "password"}
    gone = {grant for switch, grant in off.items() if switch in switches(state)}
    return [g for g in GRANT_TYPES if g not in gone]


FAULTS = {
    "no_store_missing": "token responses lack Cache-Control: no-store and Pragma: no-cache (RFC 6749 §5.1)",
    "invalid_client_basic_400": "invalid_client after HTTP Basic authentication is answered 400, not 401 (§5.2)",
    "no_www_authenticate": "401 answers lack the WWW-Authenticate header (RFC 6749 §5.2)",
    "basic_auth_unsupported": "HTTP Basic client credentials are ignored, so they fail as invalid_client (§2.3.1)",
    "code_reusable": "an authorization code can be exchanged more than once (RFC 6749 §4.1.2)",
    "code_reuse_keeps_tokens": "a reused code is refused but the tokens issued from it stay valid (§4.1.2 SHOULD)",
    "redirect_uri_not_compared": "the token endpoint does not check redirect_uri against the request (§4.1.3)",
    "redirects_to_unregistered": "the authorization endpoint redirects to any redirect_uri (§4.1.2.1, §3.1.2)",
    "error_not_redirected": "unsupported_response_type gets a 400 page instead of an error redirect (§4.1.2.1)",
    "state_dropped": "redirects from the authorization endpoint do not echo state (RFC 6749 §4.1.2)",
    "implicit_in_query": "the implicit grant puts the access token in the query, not the fragment (§4.2.2)",
    "pkce_not_verified": "code_verifier is not checked against code_challenge (RFC 7636 §4.6)",
    "scope_widened_on_refresh": "a refresh may ask for more scope than originally granted (RFC 6749 §6)",
    "revoked_token_active": "revocation answers 200 but revokes nothing (RFC 7009 §2.2)",
    "introspect_garbage_error": 'an unknown token gets 400 instead of {"active": false} (RFC 7662 §2.2)',
    "refresh_not_rotated": "a refresh returns the same refresh token, which stays valid (RFC 9700 §4.14.2)",
    "unknown_grant_invalid_request": "an unknown grant_type gets invalid_request, not unsupported_grant_type (§5.2)",
    "no_token_type": "token responses lack token_type (RFC 6749 §5.1)",
    "tokens_never_expire": "access tokens stay active after expires_in (RFC 7662 §2.2)",
    "token_dies_early": "an access token is inactive halfway through the expires_in it states (RFC 6749 §5.1)",
    "code_not_bound_to_client": "a code issued to one client is redeemed by another (RFC 6749 §4.1.3)",
    "refresh_not_bound_to_client": "a refresh token issued to one client is used by another (RFC 6749 §6)",
    "unknown_code_invalid_request": "an unknown authorization code gets invalid_request, not invalid_grant (§5.2)",
    "malformed_code_crash": "a code outside the VSCHAR syntax (RFC 6749 Appendix A.11) crashes the token endpoint",
    "unknown_scope_granted": "an unknown scope is granted as requested (RFC 6749 §5.2 invalid_scope, §3.3)",
    "metadata_missing_members": "the metadata lacks response_types_supported (RFC 8414 §2: REQUIRED)",
    "metadata_wrong_issuer": "the metadata's issuer is not the URL it is published under (RFC 8414 §3.3)",
    "introspect_without_auth": "the introspection endpoint answers callers that do not authenticate (RFC 7662 §2.1)",
    "pkce_downgrade_accepted": "a code_verifier sent for a code issued without code_challenge is accepted "
    "(RFC 9700 §2.1.1)",
    "error_description_echoes_input": "error_description echoes request values verbatim, quotes and non-ASCII "
    "included (RFC 6749 §5.2 character set)",
    "code_lifetime_hour": "authorization codes live an hour (RFC 6749 §4.1.2 recommends at most ten minutes)",
    "missing_grant_type_crash": "a token request without grant_type gets HTTP 500 (RFC 6749 §5.2)",
    "race_window": "a code or refresh token is checked, then spent 100 ms later, and introspection writes back the "
    "token record it read 100 ms before: simultaneous requests all succeed, a revocation in between is lost",
    # A reading, not a fault: §5.2 fits a missing grant_type both as invalid_request (a missing required
    # parameter) and as unsupported_grant_type (what Authlib and oauthlib answer); the suite accepts both.
    "missing_grant_type_unsupported": "a missing grant_type gets unsupported_grant_type (the other reading of §5.2)",
}

# RFC 6749 §5.2: error_description (and error) use %x20-21 / %x23-5B / %x5D-7E only.
_NOT_ERROR_CHARS = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")
VSCHAR = re.compile(r"[\x20-\x7e]+")  # RFC 6749 Appendix A.11: code = 1*VSCHAR


class OAuthError(Exception):
    """An RFC 6749 §5.2 error; `basic` says the client tried HTTP Basic (decides 401 + challenge)."""

    def __init__(self, code: str, description: str, basic: bool = False) -> None:
        super().__init__(description)
        self.code, self.description, self.basic = code, description, basic


async def form_params(request: Request) -> dict[str, str]:
    """The form body only (RFC 6749 §3.2: POST, form-encoded); a repeated parameter is invalid_request."""
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        return {}
    pairs = parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise OAuthError("invalid_request", f"parameter {name} is repeated (RFC 6749 §3.2)")
        params[name] = value
    return params


def scope_set(scope: str | None) -> set[str]:
    return set((scope or "").split())


class ServerCrash(Exception):
    """A fault: the endpoint fails with HTTP 500."""


def check_scope(scope: str | None, lenient: bool = False) -> str | None:
    """The requested scope, normalised; invalid_scope outside "read write". Omitted means no scope.
    `lenient` (a fault) grants unknown scopes as requested."""
    unknown = scope_set(scope) - set(SCOPES)
    if unknown and lenient:
        return scope
    if unknown:
        raise OAuthError("invalid_scope", f"unknown scope: {' '.join(sorted(unknown))}")
    return " ".join(s for s in SCOPES if s in scope_set(scope)) or None


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii", "replace")).digest()).decode().rstrip("=")


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    text = f"<!doctype html><html><head><title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"
    return HTMLResponse(text, status, headers={"Cache-Control": "no-store"})


# Faults that only alter an answer (see modifiers.py); the handlers below stay a correct server.
MODIFIERS = {
    "no_www_authenticate": drop_headers("www-authenticate"),
    "no_token_type": drop("/token_type"),
    "no_store_missing": drop_headers("cache-control", "pragma"),
}


def build(state: ServerState) -> Starlette:
    client = state.client
    esc = html.escape

    def lenient() -> bool:
        return state.fault("unknown_scope_granted")

    def base_url(request: Request) -> str:
        """This server's URL including the mount prefix (request.base_url stops at the outer app)."""
        root = str(request.scope.get("root_path", ""))
        return str(request.url.replace(path=root, query="", fragment="")).rstrip("/")

    def describe(text: str) -> str:
        """An error_description within the §5.2 character set (request values may be quoted in it)."""
        return text if state.fault("error_description_echoes_input") else _NOT_ERROR_CHARS.sub("?", text)

    def json_error(exc: OAuthError) -> Response:
        status = 401 if exc.code == "invalid_client" else 400
        if status == 401 and exc.basic and state.fault("invalid_client_basic_400"):
            status = 400
        # HTTP (RFC 9110 §15.5.2) wants a challenge on every 401, so body-authenticated clients get one too.
        headers = BASIC_CHALLENGE if status == 401 else None
        body = {"error": exc.code, "error_description": describe(exc.description)}
        return JSONResponse(body, status, headers=headers)

    def authenticate(request: Request, params: dict[str, str]) -> str:
        """Client authentication (RFC 6749 §2.3.1): HTTP Basic or client_id/client_secret in the body.
        Returns the authenticated client's id."""
        basic = None if state.fault("basic_auth_unsupported") else basic_credentials(request)
        if basic is not None:
            if "client_secret" in params or params.get("client_id", basic[0]) != basic[0]:
                raise OAuthError("invalid_request", "use one client authentication method (RFC 6749 §2.3)")
            client_id, secret = basic
        else:
            client_id, secret = params.get("client_id", ""), params.get("client_secret", "")
        if not client_id or not secret:
            raise OAuthError("invalid_client", "client authentication is missing", basic is not None)
        known = registered_clients(state).get(client_id)
        if known is None or secret != known.secret:
            raise OAuthError("invalid_client", "client authentication failed", basic is not None)
        return client_id

    def require(params: dict[str, str], *names: str) -> None:
        for name in names:
            if not params.get(name):
                raise OAuthError("invalid_request", f"missing parameter {name}")

    def access_lifetime() -> float:
        """How long an access token is active: ACCESS_LIFETIME, as expires_in states (half under token_dies_early)."""
        return ACCESS_LIFETIME / 2 if state.fault("token_dies_early") else ACCESS_LIFETIME

    def issue_tokens(
        client_id: str, scope: str | None, refresh: bool, data: dict[str, Any], kept: str | None = None
    ) -> dict[str, Any]:
        """A §5.1 token response. `data` (username, code) goes on both tokens; the refresh token carries
        `kept` (the originally granted scope) when given, else `scope`."""
        common = {"client_id": client_id, "iat": int(state.clock.now()), **data}
        body: dict[str, Any] = {"access_token": "", "token_type": "Bearer", "expires_in": ACCESS_LIFETIME}
        if refresh:
            body["refresh_token"] = state.issue("refresh_token", None, **common, scope=scope if kept is None else kept)
        refresh_token = body.get("refresh_token")
        body["access_token"] = state.issue(
            "access_token",
            None if state.fault("tokens_never_expire") else access_lifetime(),
            **common,
            scope=scope,
            refresh=refresh_token,
        )
        if scope:
            body["scope"] = scope
        return body

    def revoke_family(key: str, value: str) -> None:
        for grant in state.grants.values():
            if grant.kind in {"access_token", "refresh_token"} and grant.data.get(key) == value:
                grant.used = True

    # --- token endpoint (RFC 6749 §3.2, §4.1.3, §4.3, §4.4, §6) ---------------------------------------------

    async def code_grant(client_id: str, params: dict[str, str]) -> dict[str, Any]:
        require(params, "code")
        code = params["code"]
        if not VSCHAR.fullmatch(code) and state.fault("malformed_code_crash"):
            raise ServerCrash
        grant = state.grants.get(code)
        if grant is None and state.fault("unknown_code_invalid_request"):
            raise OAuthError("invalid_request", "the code parameter is invalid")
        bound = grant is None or grant.data["client_id"] == client_id or state.fault("code_not_bound_to_client")
        if grant is None or grant.kind != "code" or not bound:
            raise OAuthError("invalid_grant", "unknown authorization code")
        if grant.expires_at is not None and state.clock.now() >= grant.expires_at:
            raise OAuthError("invalid_grant", "authorization code expired")
        if grant.used and not state.fault("code_reusable"):
            if not state.fault("code_reuse_keeps_tokens"):
                revoke_family("code", code)  # RFC 6749 §4.1.2: SHOULD revoke what the code produced
            raise OAuthError("invalid_grant", "authorization code already used; its tokens are revoked")
        if not state.fault("redirect_uri_not_compared"):
            given = grant.data["redirect_given"]  # sent in the authorization request (None if it was not)
            if given is not None:
                require(params, "redirect_uri")  # missing -> invalid_request; different -> invalid_grant
            if "redirect_uri" in params and params["redirect_uri"] != (given or grant.data["redirect_uri"]):
                raise OAuthError("invalid_grant", "redirect_uri differs from the authorization request")
        if not state.fault("pkce_not_verified"):
            challenge, verifier = grant.data["challenge"], params.get("code_verifier")
            downgrade = verifier is not None and not state.fault("pkce_downgrade_accepted")
            if challenge is None and downgrade:  # RFC 9700 §2.1.1: no PKCE downgrade
                raise OAuthError("invalid_grant", "code_verifier sent for a code issued without code_challenge")
            if challenge is not None:
                if not verifier:
                    raise OAuthError("invalid_grant", "code_verifier is required (RFC 7636 §4.5)")
                computed = s256(verifier) if grant.data["method"] == "S256" else verifier
                if computed != challenge:
                    raise OAuthError("invalid_grant", "code_verifier does not match code_challenge")
        await race_window(state)
        grant.used = True  # only a successful exchange spends the code
        return issue_tokens(client_id, grant.data["scope"], True, {"username": grant.data["username"], "code": code})

    async def password_grant(client_id: str, params: dict[str, str]) -> dict[str, Any]:
        require(params, "username", "password")
        scope = check_scope(params.get("scope"), lenient())
        if params["username"] != client.username or params["password"] != client.password:
            raise OAuthError("invalid_grant", "resource owner credentials are wrong")
        return issue_tokens(client_id, scope, True, {"username": client.username})

    async def client_grant(client_id: str, params: dict[str, str]) -> dict[str, Any]:
        return issue_tokens(
            client_id, check_scope(params.get("scope"), lenient()), False, {}
        )  # §4.4.3: no refresh token

    async def refresh_grant(client_id: str, params: dict[str, str]) -> dict[str, Any]:
        require(params, "refresh_token")
        old = params["refresh_token"]
        grant = state.lookup("refresh_token", old)
        bound = grant is None or grant.data["client_id"] == client_id or state.fault("refresh_not_bound_to_client")
        if grant is None or not bound:
            raise OAuthError("invalid_grant", "refresh token is invalid, expired or revoked")
        original = grant.data["scope"]
        scope = check_scope(params["scope"], lenient()) if params.get("scope") else original
        widened = scope_set(scope) - scope_set(original)
        if widened and not state.fault("scope_widened_on_refresh"):
            raise OAuthError("invalid_scope", f"scope exceeds the original grant: {' '.join(sorted(widened))}")
        family = {"username": grant.data.get("username"), "code": grant.data.get("code")}
        await race_window(state)
        if state.fault("refresh_not_rotated"):
            body = issue_tokens(client_id, scope, False, family)
            state.grants[body["access_token"]].data["refresh"] = old
            body["refresh_token"] = old
            return body
        state.revoke(old)  # rotation; access tokens issued earlier stay valid until they expire
        return issue_tokens(client_id, scope, True, family, kept=original)

    handlers: dict[str, Callable[[str, dict[str, str]], Awaitable[dict[str, Any]]]] = {
        "authorization_code": code_grant,
        "password": password_grant,
        "client_credentials": client_grant,
        "refresh_token": refresh_grant,
    }

    async def token(request: Request) -> Response:
        try:
            params = await form_params(request)
            client_id = authenticate(request, params)
            if not params.get("grant_type") and state.fault("missing_grant_type_crash"):
                raise ServerCrash
            if not params.get("grant_type") and state.fault("missing_grant_type_unsupported"):
                raise OAuthError("unsupported_grant_type", "grant_type is missing")
            require(params, "grant_type")
            grant_type = params["grant_type"]
            handler = handlers.get(grant_type) if grant_type in offered_grants(state) else None
            if handler is None:
                bad = "invalid_request" if state.fault("unknown_grant_invalid_request") else "unsupported_grant_type"
                raise OAuthError(bad, f"grant_type {grant_type!r} is not supported")
            if grant_type not in registered_clients(state)[client_id].grants:
                raise OAuthError("unauthorized_client", f"this client may not use grant_type {grant_type}")
            body = await handler(client_id, params)
        except OAuthError as exc:
            return json_error(exc)
        except ServerCrash:
            return PlainTextResponse("<html>Internal Server Error</html>", status_code=500)
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    # --- revocation (RFC 7009) and introspection (RFC 7662) -------------------------------------------------

    def live_token(value: str, client_id: str) -> Grant | None:
        """A live access or refresh token of the client; token_type_hint is only a hint (RFC 7009 §2.1)."""
        grant = state.lookup("access_token", value) or state.lookup("refresh_token", value)
        return grant if grant is not None and grant.data["client_id"] == client_id else None

    async def revoke(request: Request) -> Response:
        try:
            params = await form_params(request)
            client_id = authenticate(request, params)
            require(params, "token")
        except OAuthError as exc:
            return json_error(exc)
        grant = live_token(params["token"], client_id)
        if grant is not None and not state.fault("revoked_token_active"):
            state.revoke(params["token"])
            if grant.kind == "refresh_token":
                revoke_family("refresh", params["token"])  # and the access tokens issued with it
        return Response(status_code=200)  # also for unknown tokens (RFC 7009 §2.2)

    async def introspect(request: Request) -> Response:
        try:
            params = await form_params(request)
            anonymous = basic_credentials(request) is None and "client_secret" not in params
            if anonymous and state.fault("introspect_without_auth"):
                owner = state.grants.get(params.get("token", ""))
                client_id = owner.data.get("client_id", "") if owner is not None else ""
            else:
                client_id = authenticate(request, params)
            require(params, "token")
            if params["token"] not in state.grants and state.fault("introspect_garbage_error"):
                raise OAuthError("invalid_request", "unknown token")
        except OAuthError as exc:
            return json_error(exc)
        grant = live_token(params["token"], client_id)
        if grant is None:
            return JSONResponse({"active": False}, headers={"Cache-Control": "no-store"})
        await touch(state, params["token"])
        body: dict[str, Any] = {"active": True, "client_id": grant.data["client_id"], "iat": grant.data["iat"]}
        for name in ("scope", "username"):
            if grant.data.get(name):
                body[name] = grant.data[name]
        if grant.kind == "access_token":
            body["token_type"] = "Bearer"
        if grant.expires_at is not None:
            body["exp"] = int(grant.expires_at)
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    # --- login, consent and the authorization endpoint (RFC 6749 §3.1, §4.1, §4.2) --------------------------

    def login_page(next_url: str, message: str = "") -> Response:
        csrf = state.issue("login_csrf", None)
        error = f'<p class="error">{esc(message)}</p>' if message else ""
        return page(
            "Sign in",
            f'{error}<form method="post" action="login">'
            f'<input type="text" name="username"><input type="password" name="password">'
            f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
            f'<input type="hidden" name="next" value="{esc(next_url)}">'
            f'<button type="submit">Sign in</button></form>',
        )

    async def login_get(request: Request) -> Response:
        return login_page(request.query_params.get("next", ""))

    async def login_post(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        next_url = form.get("next", "")
        csrf = form.get("csrf", "")
        if state.lookup("login_csrf", csrf) is None:
            return login_page(next_url, "The form expired; please try again.")
        state.revoke(csrf)
        if form.get("username") != client.username or form.get("password") != client.password:
            return login_page(next_url, "Wrong username or password.")
        session = state.issue("session", None, username=client.username)
        root = str(request.scope.get("root_path", "")) + "/"
        if next_url.startswith(root) and not next_url.startswith("//"):  # no open redirect via next
            response: Response = RedirectResponse(next_url, status_code=302)
        else:
            response = page("Signed in", "<p>You are signed in.</p>")
        response.set_cookie("session", session, path="/", httponly=True, samesite="lax")
        return response

    def redirect(uri: str, params: dict[str, str], request_state: str | None, fragment: bool) -> Response:
        if request_state is not None and not state.fault("state_dropped"):
            params["state"] = request_state
        separator = "#" if fragment else ("&" if "?" in uri else "?")
        return RedirectResponse(f"{uri}{separator}{urlencode(params)}", status_code=302)

    async def authorize(request: Request) -> Response:
        query = dict(request.query_params)
        session = state.lookup("session", request.cookies.get("session"))
        if session is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"login?next={quote(target, safe='')}", status_code=302)
        # Errors that must not redirect (§4.1.2.1): unknown client, mismatching redirect_uri.
        client_id = query.get("client_id") or ""
        known = registered_clients(state).get(client_id)
        if known is None:
            return page("Invalid request", "<p>Unknown or missing client_id.</p>", 400)
        uri = query.get("redirect_uri") or known.redirect_uri
        if uri != known.redirect_uri and not state.fault("redirects_to_unregistered"):
            return page("Invalid request", "<p>redirect_uri is not registered for this client.</p>", 400)
        response_type, request_state = query.get("response_type"), query.get("state")
        implicit = response_type == "token"
        grant = {"code": "authorization_code", "token": "implicit"}.get(response_type or "")
        if grant is None or grant not in offered_grants(state):
            code = "unsupported_response_type" if response_type else "invalid_request"
            if state.fault("error_not_redirected"):
                return page("Invalid request", f"<p>{code}</p>", 400)
            return redirect(uri, {"error": code}, request_state, fragment=implicit and grant is not None)
        if grant not in known.grants:
            return redirect(uri, {"error": "unauthorized_client"}, request_state, fragment=implicit)
        method = query.get("code_challenge_method") or ("plain" if query.get("code_challenge") else None)
        try:
            scope = check_scope(query.get("scope"), lenient())
            if method is not None and (method not in {"S256", "plain"} or not query.get("code_challenge")):
                raise OAuthError("invalid_request", "code_challenge_method must be S256 or plain (RFC 7636 §4.4.1)")
        except OAuthError as exc:
            params = {"error": exc.code, "error_description": describe(exc.description)}
            return redirect(uri, params, request_state, fragment=implicit)
        if request.method == "GET":
            csrf = state.issue("consent_csrf", None, session=request.cookies["session"])
            return page(
                "Authorize",
                f"<p>{esc(client_id)} asks for: {esc(scope or '(no scope)')}</p>"
                f'<form method="post" action="{esc("authorize?" + request.url.query)}">'
                f'<input type="hidden" name="consent_csrf" value="{esc(csrf)}">'
                f'<button type="submit" name="confirm" value="yes">Allow</button>'
                f'<button type="submit" name="confirm" value="no">Deny</button></form>',
            )
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        consent = state.lookup("consent_csrf", form.get("consent_csrf"))
        if consent is None or consent.data["session"] != request.cookies["session"]:
            return page("Invalid request", "<p>The consent form expired or was not yours.</p>", 400)
        state.revoke(form["consent_csrf"])
        if form.get("confirm") != "yes":
            return redirect(uri, {"error": "access_denied"}, request_state, fragment=implicit)
        if implicit:
            body = issue_tokens(client_id, scope, False, {"username": session.data["username"]})  # §4.2.2: no refresh
            fragment = not state.fault("implicit_in_query")
            return redirect(uri, {k: str(v) for k, v in body.items()}, request_state, fragment=fragment)
        code = new_code(uri, query.get("redirect_uri"), scope, query.get("code_challenge"), method, client_id)
        return redirect(uri, {"code": code}, request_state, fragment=False)

    def new_code(
        uri: str,
        given: str | None,
        scope: str | None,
        challenge: str | None = None,
        method: str | None = None,
        client_id: str | None = None,
    ) -> str:
        data: dict[str, Any] = {"client_id": client_id or client.client_id, "username": client.username, "scope": scope}
        data |= {"redirect_uri": uri, "redirect_given": given, "challenge": challenge, "method": method}
        lifetime = 3600 if state.fault("code_lifetime_hour") else CODE_LIFETIME
        return state.issue("code", lifetime, **data)

    async def metadata(request: Request) -> Response:
        if "no_metadata" in switches(state):
            return JSONResponse({"error": "not_found"}, 404)
        base = base_url(request)
        auth_methods = ["client_secret_basic", "client_secret_post"]
        # RFC 8414 §3.3: the issuer is the URL the metadata is published under (here appended, §5).
        issuer = "https://as.example" if state.fault("metadata_wrong_issuer") else base
        body: dict[str, Any] = {
            "issuer": issuer,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "revocation_endpoint": f"{base}/revoke",
            "introspection_endpoint": f"{base}/introspect",
            "response_types_supported": [r for r, g in RESPONSE_TYPES.items() if g in offered_grants(state)],
            "grant_types_supported": offered_grants(state),
            "token_endpoint_auth_methods_supported": auth_methods,
            "revocation_endpoint_auth_methods_supported": auth_methods,
            "introspection_endpoint_auth_methods_supported": auth_methods,
            "code_challenge_methods_supported": ["S256", "plain"],
            "scopes_supported": list(SCOPES),
        }
        if state.fault("metadata_missing_members"):
            del body["response_types_supported"]
        return JSONResponse(body)

    async def test_authorize(request: Request) -> Response:
        """Test-only: a code for the authorization request in the query (client_id, redirect_uri,
        scope, code_challenge, code_challenge_method), as if the user had approved it; the answer
        names the parameters used, as a code_command's JSON does."""
        query = dict(request.query_params)
        client_id = query.get("client_id") or client.client_id
        known = registered_clients(state).get(client_id)
        if known is None:
            return JSONResponse({"error": "unknown client_id"}, 400)
        challenge = query.get("code_challenge")
        method = query.get("code_challenge_method") or ("plain" if challenge else None)
        given = query.get("redirect_uri")
        try:
            scope = check_scope(query.get("scope"), lenient())
        except OAuthError as exc:
            return JSONResponse({"error": exc.code}, 400)
        code = new_code(given or known.redirect_uri, given, scope, challenge, method, client_id)
        used = {k: v for k, v in query.items() if k in {"client_id", "redirect_uri", "scope", "code_challenge"}}
        if method:
            used["code_challenge_method"] = method
        return JSONResponse({"code": code, **used})

    routes = [
        Route("/.well-known/oauth-authorization-server", metadata, methods=["GET"]),
        Route("/login", login_get, methods=["GET"]),
        Route("/login", login_post, methods=["POST"]),
        Route("/authorize", authorize, methods=["GET", "POST"]),
        Route("/token", token, methods=["POST"]),
        Route("/revoke", revoke, methods=["POST"]),
        Route("/introspect", introspect, methods=["POST"]),
        Route("/_test/authorize", test_authorize, methods=["GET"]),
        # The reference client's code, as if the authorize request had sent the registered redirect_uri.
        *test_routes(state, lambda: new_code(client.redirect_uri, client.redirect_uri, None)),
    ]
    return Starlette(routes=routes)
