"""Reference server for the Everydo document (000_03cb5b6c54a6bfea.txt): /authorize and /access_token.

The document keeps the misspelling `refrash_token` for the grant type, the parameter and the response
field (lines 109, 111, 123, 132); so does this server. Authorization is auto-approved for the one user.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from conformance.servers.base import ServerState, race_window, read_params, test_routes
from conformance.servers.modifiers import change, drop, rename

ACCESS_LIFETIME = 3600  # unsaid (the example's 1234 on line 133 is a placeholder); one hour
CODE_LIFETIME = 600  # unsaid by the document; RFC 6749 §4.1.2 recommends at most ten minutes
REFRESH = "refrash_token"  # sic, lines 109, 111, 123, 132

FAULTS = {
    "second_refresh_refused": "a refrash_token issued by a refresh is refused: refreshes cannot be chained (line 123)",
    "refresh_reusable": "a refrash_token can be used more than once (line 123)",
    "code_reusable": "an authorization code can be exchanged more than once (line 77)",
    "no_refrash_token": "the token response lacks refrash_token (lines 123, 132)",
    "refresh_field_spelled_refresh_token": "the field is named refresh_token, not refrash_token (line 132)",
    "expires_in_string": "expires_in is sent as a string, not an int (line 133)",
    "crash_on_missing": "a missing parameter gets a 500 HTML page (lines 67-68, 107-113)",
    "wrong_password_accepted": "the password grant accepts a wrong password (lines 112-113)",
    "authorize_no_code": "the authorize redirect carries no code (lines 77, 88)",
    "unknown_grant_accepted": "an unknown grant_type is treated as password (line 109)",
    "authorize_get_only": "/authorize answers POST with 405 (line 60: GET/POST)",
    "access_token_post_only": "/access_token answers GET with 405 (line 100: GET/POST)",
    "code_param_misnamed": "the consent redirect carries auth_code=, not code= (lines 77, 88)",
    "redirect_ignores_uri": "the consent redirect goes to a fixed URL, not the redirect_uri sent (lines 68, 87)",
    "refresh_same_access_token": "a refresh returns the access token it was given, not a new one (line 111)",
    "authorize_unknown_client_accepted": "/authorize issues a code to any client_id (line 67)",
    "race_window": "a code or refrash_token is checked, then marked used 100 ms later: simultaneous requests "
    "all succeed (lines 77, 123)",
}


# Faults that only alter an answer (see modifiers.py); the handlers below stay a correct server.
MODIFIERS = {
    "refresh_field_spelled_refresh_token": rename(f"/{REFRESH}", "refresh_token"),
    "expires_in_string": change("/expires_in", lambda value, _: str(value)),
    "no_refrash_token": drop(f"/{REFRESH}"),
}


def build(state: ServerState) -> Starlette:
    def error(code: str, description: str) -> Response:
        return JSONResponse({"error": code, "error_description": description}, status_code=400)

    def missing(params: dict[str, Any], names: list[str]) -> Response | None:
        absent = [name for name in names if not params.get(name)]
        if not absent:
            return None
        if state.fault("crash_on_missing"):
            return PlainTextResponse("<html>Internal Server Error</html>", status_code=500)
        return error("invalid_request", f"missing parameter {absent[0]}")

    def tokens(uid: str, access: str | None = None, chained: bool = False) -> Response:
        access = access or state.issue("access_token", ACCESS_LIFETIME, uid=uid)
        refresh = state.issue(REFRESH, None, uid=uid, access=access, chained=chained)
        body: dict[str, Any] = {
            "access_token": access,
            REFRESH: refresh,
            "expires_in": ACCESS_LIFETIME,
            "remind_in": str(ACCESS_LIFETIME),
            "uid": uid,
        }
        return JSONResponse(body)

    async def authorize(request: Request) -> Response:
        if request.method == "POST" and state.fault("authorize_get_only"):
            return PlainTextResponse("Method Not Allowed", status_code=405)
        params = await read_params(request)
        problem = missing(params, ["client_id", "redirect_uri"])
        if problem is not None:
            return problem
        if params["client_id"] != state.client.client_id and not state.fault("authorize_unknown_client_accepted"):
            return error("invalid_client", "client not found")
        redirect_uri = str(params["redirect_uri"])
        if state.fault("redirect_ignores_uri"):
            redirect_uri = "http://everydo.example/response"
        if state.fault("authorize_no_code"):
            return RedirectResponse(redirect_uri, status_code=302)
        code = state.issue("code", CODE_LIFETIME, uid=state.client.username)
        separator = "&" if "?" in redirect_uri else "?"
        name = "auth_code" if state.fault("code_param_misnamed") else "code"
        return RedirectResponse(f"{redirect_uri}{separator}{name}={code}", status_code=302)

    async def access_token(request: Request) -> Response:
        if request.method == "GET" and state.fault("access_token_post_only"):
            return PlainTextResponse("Method Not Allowed", status_code=405)
        params = await read_params(request)
        grant_type = params.get("grant_type")
        if grant_type not in {"authorization_code", REFRESH, "password"} and state.fault("unknown_grant_accepted"):
            grant_type = "password"
        needed = ["client_id", "client_secret", "grant_type"]
        needed += {
            "authorization_code": ["code"],
            REFRESH: [REFRESH],
            "password": ["username", "password"],
        }.get(str(grant_type), [])
        problem = missing(params, needed)
        if problem is not None:
            return problem
        client = state.client
        if params["client_id"] != client.client_id or params["client_secret"] != client.client_secret:
            return error("invalid_client", "client authentication failed")
        if grant_type == "authorization_code":
            grant = state.grants.get(params["code"]) if state.fault("code_reusable") else None
            grant = grant if grant is not None and grant.kind == "code" else state.lookup("code", params["code"])
            if grant is None:
                return error("invalid_grant", "code is invalid, expired or used")
            await race_window(state)
            grant.used = True
            return tokens(grant.data["uid"])
        if grant_type == REFRESH:
            grant = state.grants.get(params[REFRESH]) if state.fault("refresh_reusable") else None
            grant = grant if grant is not None and grant.kind == REFRESH else state.lookup(REFRESH, params[REFRESH])
            if grant is None or (grant.data.get("chained") and state.fault("second_refresh_refused")):
                return error("invalid_grant", "refrash_token is invalid or already used")
            await race_window(state)
            grant.used = True  # usable once (line 123)
            same = grant.data.get("access") if state.fault("refresh_same_access_token") else None
            return tokens(grant.data["uid"], same, chained=True)
        if grant_type == "password":
            wrong = params["username"] != client.username or params["password"] != client.password
            if wrong and not state.fault("wrong_password_accepted"):
                return error("invalid_grant", "username or password is wrong")
            return tokens(str(params["username"]))
        return error("unsupported_grant_type", f"grant_type {grant_type!r} is not supported")

    def new_code() -> str:
        return state.issue("code", CODE_LIFETIME, uid=state.client.username)

    routes = [
        Route("/authorize", authorize, methods=["GET", "POST"]),
        Route("/access_token", access_token, methods=["GET", "POST"]),
        *test_routes(state, new_code),
    ]
    return Starlette(routes=routes)
