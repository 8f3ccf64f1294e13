"""Reference server for the generic OAuth2 document (004_fafc6a3f2d8f852d.txt): the five RFC 6749 grants.

The document leaves every response body empty (lines 34-36, 60-62, ...), so responses follow RFC 6749:
redirects per §4.1.2/§4.2.2, token responses per §5.1, errors per §5.2. Authorization is auto-approved.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from conformance.servers.base import (
    ServerState,
    basic_credentials,
    bearer_resource,
    race_window,
    read_params,
    test_routes,
)
from conformance.servers.modifiers import drop, drop_headers, errors_with_status

ACCESS_LIFETIME = 3600  # unsaid by the document; one hour
CODE_LIFETIME = 600  # unsaid by the document; RFC 6749 §4.1.2 recommends at most ten minutes

# Faults that are readings the document allows (tests/test_readings.py): the suite must pass them.
READINGS = {"implicit_in_query", "wrong_response_type_error_answer"}

FAULTS = {
    "code_reusable": "an authorization code can be exchanged more than once (line 56; RFC 6749 §4.1.2)",
    "state_dropped": "the redirect does not echo state (lines 30, 80; RFC 6749 §4.1.2)",
    "no_store_missing": "token responses lack Cache-Control: no-store (RFC 6749 §5.1)",
    "unknown_client_invalid_request": "an unknown client gets invalid_request, not invalid_client (§5.2)",
    "error_status_200": "errors are answered with HTTP 200 (RFC 6749 §5.2)",
    "redirect_uri_not_compared": "redirect_uri is not compared to the registered one (lines 29, 55)",
    "implicit_in_query": "the implicit grant answers in the query, not the fragment (a reading: lines 82-86 are empty)",
    "garbage_refresh_accepted": "any refresh_token is accepted (line 149; RFC 6749 §6)",
    "no_token_type": "the token response lacks token_type (RFC 6749 §5.1)",
    "unknown_grant_invalid_request": "a wrong grant_type gets invalid_request, not unsupported_grant_type",
    "scope_widened_on_refresh": "a refresh may ask for more scope than originally granted (line 152; §6)",
    "authorize_requires_redirect_uri": "/open/authorize/index refuses a request without redirect_uri (line 29)",
    "implicit_requires_redirect_uri": "/open/implicit refuses a request without redirect_uri (line 78)",
    "refresh_same_access_token": "a refresh answers the access token issued before, not a new one (line 136)",
    "client_credentials_ignores_secret": "the client_credentials grant does not check client_secret (line 127)",
    "tokens_never_expire": "access tokens keep working after expires_in (RFC 6749 §5.1)",
    "token_dies_early": "an access token stops working halfway through the expires_in it states (RFC 6749 §5.1)",
    "empty_access_token": "token responses carry an empty access_token (RFC 6749 §5.1)",
    "redirects_elsewhere": "the authorization redirect goes to another URI than the redirect_uri sent (line 29)",
    "race_window": "a code is checked, then marked used 100 ms later: simultaneous exchanges all succeed (§4.1.2)",
    "wrong_response_type_accepted": "/open/authorize/index issues a code whatever the response_type (line 27)",
    "implicit_wrong_response_type_accepted": "/open/implicit issues a token whatever the response_type (line 76)",
    "unknown_client_redirects_code": "/open/authorize/index redirects an unknown client_id with a code (§4.1.2.1)",
    "unknown_client_error_redirect": "an unknown client_id is redirected to redirect_uri with an error (§4.1.2.1)",
    "implicit_unknown_client_redirects_token": "/open/implicit gives an unknown client_id a token (§4.2.2.1)",
    "wrong_response_type_error_answer": (
        "a wrong or missing response_type gets an error page (HTTP 400), not an error redirect "
        "(a reading: lines 32-36, 82-86 are empty and RFC 6749 §4.1.2.1 allows either)"
    ),
}


MODIFIERS = {
    "error_status_200": errors_with_status(200),
    "no_token_type": drop("/token_type"),
    "no_store_missing": drop_headers("cache-control", "pragma"),
}


class OAuthError(Exception):
    """An RFC 6749 §5.2 error answer."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


class Redirected(Exception):
    """An error sent back in a redirect to `uri` (what the unknown_client_error_redirect fault does)."""

    def __init__(self, uri: str, code: str) -> None:
        super().__init__(code)
        self.uri = uri
        self.code = code


def build(state: ServerState) -> Starlette:
    client = state.client

    def error(code: str, description: str) -> Response:
        status = 401 if code == "invalid_client" else 400
        headers = {"WWW-Authenticate": 'Basic realm="oauth2"'} if status == 401 else None
        return JSONResponse({"error": code, "error_description": description}, status, headers=headers)

    def redirect(uri: str, params: dict[str, str], request_state: str | None, fragment: bool) -> Response:
        if request_state is not None and not state.fault("state_dropped"):
            params["state"] = request_state
        separator = "#" if fragment else ("&" if "?" in uri else "?")
        return RedirectResponse(f"{uri}{separator}{urlencode(params)}", status_code=302)

    def tokens(
        scope: str | None, refresh: bool = True, refresh_scope: str | None = None, access: str | None = None
    ) -> dict[str, Any]:
        lifetime: float | None = None if state.fault("tokens_never_expire") else ACCESS_LIFETIME
        lifetime = lifetime / 2 if lifetime is not None and state.fault("token_dies_early") else lifetime
        access = access or state.issue("access_token", lifetime, scope=scope)
        body: dict[str, Any] = {"access_token": "" if state.fault("empty_access_token") else access}
        body |= {"token_type": "Bearer", "expires_in": ACCESS_LIFETIME}
        if refresh:
            body["refresh_token"] = state.issue("refresh_token", None, scope=refresh_scope or scope, access=access)
        if scope:
            body["scope"] = scope
        return body

    def front_channel(params: dict[str, Any], strict_fault: str, lenient_fault: str) -> str:
        """The redirect URI to answer to (lines 29, 78); raises if the request must not redirect."""
        if not params.get("redirect_uri") and state.fault(strict_fault):
            raise OAuthError("invalid_request", "missing parameter redirect_uri")
        if not params.get("client_id"):
            raise OAuthError("invalid_request", "missing parameter client_id")
        unknown = params["client_id"] != client.client_id
        if unknown and not state.fault(lenient_fault):
            if state.fault("unknown_client_error_redirect") and params.get("redirect_uri"):
                raise Redirected(str(params["redirect_uri"]), "invalid_client")
            raise OAuthError("invalid_request", "unknown client_id")
        uri = str(params.get("redirect_uri") or client.redirect_uri)
        if uri != client.redirect_uri and not (state.fault("redirect_uri_not_compared") or unknown):
            raise OAuthError("invalid_request", "redirect_uri does not match the registered one")
        return uri

    def wrong_response_type(params: dict[str, Any], expected: str, lenient_fault: str) -> str | None:
        """The error a response_type other than `expected` gets (lines 27, 76), or None to go on."""
        given = params.get("response_type")
        if given == expected or (given and state.fault(lenient_fault)):
            return None
        return "unsupported_response_type" if given else "invalid_request"

    async def authorize_index(request: Request) -> Response:
        params = dict(request.query_params)
        try:
            uri = front_channel(params, "authorize_requires_redirect_uri", "unknown_client_redirects_code")
        except OAuthError as exc:
            return error(exc.code, exc.description)
        except Redirected as exc:
            return redirect(exc.uri, {"error": exc.code}, params.get("state"), fragment=False)
        if bad := wrong_response_type(params, "code", "wrong_response_type_accepted"):
            if state.fault("wrong_response_type_error_answer"):
                return error(bad, "response_type must be code")
            return redirect(uri, {"error": bad}, params.get("state"), fragment=False)
        code = state.issue("code", CODE_LIFETIME, client_id=params["client_id"], redirect_uri=uri)
        target = uri.rstrip("/") + "/elsewhere" if state.fault("redirects_elsewhere") else uri
        return redirect(target, {"code": code}, params.get("state"), fragment=False)

    async def implicit(request: Request) -> Response:
        params = dict(request.query_params)
        fragment = not state.fault("implicit_in_query")
        try:
            uri = front_channel(params, "implicit_requires_redirect_uri", "implicit_unknown_client_redirects_token")
        except OAuthError as exc:
            return error(exc.code, exc.description)
        except Redirected as exc:
            return redirect(exc.uri, {"error": exc.code}, params.get("state"), fragment=fragment)
        if bad := wrong_response_type(params, "token", "implicit_wrong_response_type_accepted"):
            if state.fault("wrong_response_type_error_answer"):
                return error(bad, "response_type must be token")
            return redirect(uri, {"error": bad}, params.get("state"), fragment=fragment)
        body = tokens(params.get("scope") or None, refresh=False)  # RFC 6749 §4.2.2: no refresh token
        return redirect(uri, {k: str(v) for k, v in body.items()}, params.get("state"), fragment=fragment)

    def authenticate(request: Request, params: dict[str, Any]) -> None:
        basic = basic_credentials(request)
        client_id, secret = basic or (params.get("client_id"), params.get("client_secret"))
        if params.get("grant_type") == "client_credentials" and state.fault("client_credentials_ignores_secret"):
            secret = client.client_secret if secret else secret
        if not client_id or not secret:
            raise OAuthError("invalid_client", "client authentication is missing")
        if client_id != client.client_id or secret != client.client_secret:
            unknown = client_id != client.client_id and state.fault("unknown_client_invalid_request")
            raise OAuthError("invalid_request" if unknown else "invalid_client", "client authentication failed")

    def require(params: dict[str, Any], *names: str) -> None:
        for name in names:
            if not params.get(name):
                raise OAuthError("invalid_request", f"missing parameter {name}")

    async def code_grant(params: dict[str, Any]) -> dict[str, Any]:
        require(params, "redirect_uri", "code")
        grant = state.grants.get(params["code"]) if state.fault("code_reusable") else None
        grant = grant if grant is not None and grant.kind == "code" else state.lookup("code", params["code"])
        if grant is None or grant.data["client_id"] != client.client_id:
            raise OAuthError("invalid_grant", "code is invalid, expired or used")
        if params["redirect_uri"] != grant.data["redirect_uri"] and not state.fault("redirect_uri_not_compared"):
            raise OAuthError("invalid_grant", "redirect_uri differs from the authorization request")
        await race_window(state)
        grant.used = True
        return tokens(None)

    async def password_grant(params: dict[str, Any]) -> dict[str, Any]:
        require(params, "username", "password")
        if params["username"] != client.username or params["password"] != client.password:
            raise OAuthError("invalid_grant", "username or password is wrong")
        return tokens(params.get("scope") or None)

    async def client_grant(params: dict[str, Any]) -> dict[str, Any]:
        return tokens(params.get("scope") or None, refresh=False)  # RFC 6749 §4.4.3

    async def refresh_grant(params: dict[str, Any]) -> dict[str, Any]:
        require(params, "refresh_token")
        grant = state.lookup("refresh_token", params["refresh_token"])
        if grant is None and not state.fault("garbage_refresh_accepted"):
            raise OAuthError("invalid_grant", "refresh token is invalid")
        original: str | None = grant.data["scope"] if grant else params.get("scope") or None
        scope = params.get("scope") or original
        widened = set(str(scope or "").split()) - set(str(original or "").split())
        if widened and not state.fault("scope_widened_on_refresh"):
            raise OAuthError("invalid_scope", f"scope exceeds the original grant: {' '.join(sorted(widened))}")
        state.revoke(params["refresh_token"])  # rotation: the old refresh token is spent
        same = grant.data.get("access") if grant and state.fault("refresh_same_access_token") else None
        return tokens(scope, refresh_scope=original, access=same)

    def token_endpoint(
        path: str, grant_type: str, handler: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
    ) -> Route:
        async def handle(request: Request) -> Response:
            params = await read_params(request)
            try:
                require(params, "grant_type")
                if params["grant_type"] != grant_type:
                    bad = "invalid_request" if state.fault("unknown_grant_invalid_request") else None
                    raise OAuthError(bad or "unsupported_grant_type", f"this endpoint takes {grant_type}")
                authenticate(request, params)
                body = await handler(params)
            except OAuthError as exc:
                return error(exc.code, exc.description)
            return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

        return Route(path, handle, methods=["POST"])

    def new_code() -> str:
        return state.issue("code", CODE_LIFETIME, client_id=client.client_id, redirect_uri=client.redirect_uri)

    endpoints = {
        "/oauth2/authorize": ("authorization_code", code_grant),
        "/oauth2/password": ("password", password_grant),
        "/oauth2/client-credentials": ("client_credentials", client_grant),
        "/oauth2/refresh-token": ("refresh_token", refresh_grant),
    }
    routes = [
        Route("/open/authorize/index", authorize_index, methods=["GET"]),
        Route("/open/implicit", implicit, methods=["GET"]),
        *(token_endpoint(path, grant_type, handler) for path, (grant_type, handler) in endpoints.items()),
        bearer_resource(state),
        *test_routes(state, new_code),
    ]
    return Starlette(routes=routes)
