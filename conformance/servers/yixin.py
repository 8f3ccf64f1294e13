"""Reference server for the Yixin document (002_557cecf5f4c3ec08.txt): POST /oauth/token.

Codes come from the SDK in the real platform; here they come from the test-only `/_test/code` route.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from conformance.servers.base import ServerState, bearer_resource, race_window, read_params, test_routes
from conformance.servers.modifiers import change, drop, errors_with_status

ACCESS_LIFETIME = 3600  # the examples' expires_in (lines 51, 73)
CODE_LIFETIME = 600  # unsaid by the document; RFC 6749 §4.1.2 recommends at most ten minutes

FAULTS = {
    "code_reusable": "an authorization code can be exchanged more than once (line 35)",
    "wrong_error_code": "a bad code gets invalid_request instead of invalid_grant (line 88)",
    "expires_in_string": "expires_in is sent as a string, not an int (line 57)",
    "no_refresh_token": "the token response lacks refresh_token (line 56)",
    "crash_on_missing": "a missing parameter gets a 500 HTML page",
    "unknown_grant_invalid_request": "an unknown grant_type gets invalid_request (line 89)",
    "unknown_client_accepted": "any client_id is accepted (line 87)",
    "garbage_refresh_accepted": "any refresh token is accepted (line 88)",
    "expires_in_epoch": "expires_in is an absolute epoch timestamp, not seconds (line 57)",
    "error_status_200": "errors are answered with HTTP 200 (RFC 6749 §5.2, advisory)",
    "wrong_secret_accepted": "a wrong client_secret is accepted (lines 46, 86-87)",
    "wrong_secret_invalid_request": "a wrong client_secret gets invalid_request (line 86), a reading the suite accepts",
    "new_code_keeps_tokens": "a newly requested code leaves the earlier access tokens working (line 35)",
    "tokens_never_expire": "access tokens keep working after expires_in (line 57)",
    "token_dies_early": "an access token stops working halfway through the expires_in it states (line 57)",
    "race_window": "a code is checked, then marked used 100 ms later: simultaneous exchanges all succeed (line 35)",
    "probe_accepts_unknown": "the token probe accepts an access token it never issued (line 91)",
    "probe_accepts_expired": "the token probe accepts an access token past its expires_in (lines 57, 91)",
    "probe_wrong_error_code": "the token probe refuses a bad token with invalid_request, not invalid_token (line 91)",
    "probe_refuses_tokens": "the token probe refuses every access token, live ones too (line 33)",
    "probe_refuses_refreshed": "the token probe refuses the access tokens a refresh issued (lines 33, 59)",
}


# Faults that only alter an answer (see modifiers.py); the handlers below stay a correct server.
MODIFIERS = {
    "expires_in_string": change("/expires_in", lambda value, _: str(value)),
    "expires_in_epoch": change("/expires_in", lambda value, answer: int(answer.now) + value),
    "no_refresh_token": drop("/refresh_token"),
    "error_status_200": errors_with_status(200),
}


def build(state: ServerState) -> Starlette:
    def error(code: str, description: str) -> Response:
        return JSONResponse({"error": code, "error_description": description}, status_code=400)

    def tokens(grant_type: str) -> Response:
        lifetime = ACCESS_LIFETIME / 2 if state.fault("token_dies_early") else ACCESS_LIFETIME
        access = state.issue(
            "access_token", None if state.fault("tokens_never_expire") else lifetime, grant_type=grant_type
        )
        refresh = state.issue("refresh_token", None)
        body: dict[str, Any] = {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": ACCESS_LIFETIME,
        }
        return JSONResponse(body)

    async def token(request: Request) -> Response:
        params = await read_params(request)
        grant_type = params.get("grant_type")
        needed = ["client_id", "client_secret", "grant_type"]
        if grant_type == "authorization_code":
            needed.append("code")
        elif grant_type == "refresh_token":
            needed.append("refresh_token")
        missing = [name for name in needed if not params.get(name)]
        if missing:
            if state.fault("crash_on_missing"):
                return PlainTextResponse("<html>Internal Server Error</html>", status_code=500)
            return error("invalid_request", f"missing parameter {missing[0]}")
        client = state.client
        if params["client_id"] != client.client_id and not state.fault("unknown_client_accepted"):
            return error("invalid_client", "client not found")
        lenient = state.fault("unknown_client_accepted") or state.fault("wrong_secret_accepted")
        if params["client_secret"] != client.client_secret and not lenient:
            code = "invalid_request" if state.fault("wrong_secret_invalid_request") else "invalid_client"
            return error(code, "client authentication failed")
        if grant_type == "authorization_code":
            grant = state.grants.get(params["code"]) if state.fault("code_reusable") else None
            grant = grant or state.lookup("code", params["code"])
            if grant is None:
                bad = "invalid_request" if state.fault("wrong_error_code") else "invalid_grant"
                return error(bad, "code is invalid, expired or used")
            await race_window(state)
            grant.used = True
            return tokens(grant_type)
        if grant_type == "refresh_token":
            if state.lookup("refresh_token", params["refresh_token"]) is None and not state.fault(
                "garbage_refresh_accepted"
            ):
                return error("invalid_grant", "refresh token is invalid")
            return tokens(grant_type)
        if state.fault("unknown_grant_invalid_request"):
            return error("invalid_request", "bad grant_type")
        return error("unsupported_grant_type", f"grant_type {grant_type!r} is not supported")

    def new_code() -> str:
        """A code as the SDK would hand it over; requesting it ends the earlier access tokens (line 35)."""
        if not state.fault("new_code_keeps_tokens"):
            for grant in state.grants.values():
                grant.used = grant.used or grant.kind == "access_token"
        return state.issue("code", CODE_LIFETIME)

    def probe_accepts(token: str) -> bool:
        """Whether the token probe (a Yixin API, line 91) takes `token`: a live access token."""
        if state.fault("probe_refuses_tokens"):
            return False
        grant = state.lookup("access_token", token)
        known = state.grants.get(token)
        if grant is None and known is None:
            return state.fault("probe_accepts_unknown")
        if grant is None:  # used or expired: expired ones get through under the fault
            live = known is not None and known.kind == "access_token" and not known.used
            return live and state.fault("probe_accepts_expired")
        return not (state.fault("probe_refuses_refreshed") and grant.data.get("grant_type") == "refresh_token")

    def probe_error() -> str:
        return "invalid_request" if state.fault("probe_wrong_error_code") else "invalid_token"

    routes = [
        Route("/oauth/token", token, methods=["POST"]),
        bearer_resource(state, probe_accepts, probe_error),
        *test_routes(state, new_code),
    ]
    return Starlette(routes=routes)
