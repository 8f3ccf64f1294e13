"""Reference server for the UserCenter document (001_8bc8d55b6dadd729.txt): the UserCenter SDK endpoints.

Every answer is the `{status, result}` envelope (status 1 success, 0 failure; lines 66-68) with HTTP 200;
token results are JSON inside a string (lines 71-73). Validate codes come from `/_test/code`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from conformance.servers.base import ServerState, race_window, test_routes, touch
from conformance.servers.registry import PROFILE_PARAMS

ACCESS_LIFETIME = 86400  # the examples' expires_in "86400" (lines 73, 142, 358)
VALIDATE_CODE_LIFETIME = 300  # unsaid by the document; five minutes
SYSID = PROFILE_PARAMS["usercenter"]["sysid"]
ALIASES = {"sysid": "sys", "client_id": "clientId", "accessToken": "access_token"}  # tables vs bodies

FAULTS = {
    "result_object": "result (and user) is a JSON object instead of a string holding JSON (lines 71-73, 249)",
    "status_string": 'status is the string "1" instead of the int 1 (line 67)',
    "destroy_noop": "a destroyed access token stays valid (line 264)",
    "destroy_revokes_all": "destroying one access token ends every token of the user (a reading of line 264)",
    "validate_code_reusable": "a validate code can be used more than once (line 114)",
    "missing_username_accepted": "/oauth/token succeeds without username (lines 36, 109)",
    "crash_on_bad_json": "a malformed JSON body gets a 500 HTML page (line 56)",
    "garbage_refresh_accepted": "any refresh_token is accepted (line 330)",
    "refresh_same_access_token": "a refresh answers the access token it was meant to renew (line 314)",
    "check_accepts_garbage": "checkOauthToken answers status 1 for any token (line 156)",
    "tokens_never_expire": "access tokens keep working after expires_in (line 73)",
    "token_dies_early": "an access token stops working halfway through the expires_in it states (line 73)",
    "validate_code_any_accepted": "any validateCode is accepted (line 114)",
    "unknown_user_accepted": "/oauth/token issues tokens for a username it does not know (line 36)",
    "temp_token_accepts_garbage": "getTempToken issues a temp token for any accessToken (line 384)",
    "get_user_accepts_garbage": "getUserByToken answers status 1 for any accessToken (line 222)",
    "table_spelling_only": "check / user / temp token take only the table's access_token, not accessToken (line 168)",
    "check_status_1_negative": "checkOauthToken answers a token it did not find (unknown or none) status 1, "
    "result negative (a reading of line 196)",
    "destroy_leaves_check_valid": "after a destroy, checkOauthToken still answers the token valid (line 264)",
    "failure_http_500": "every failure is {status: 0} with HTTP 500 (no status is stated: advice, line 68)",
    "refusal_http_401": "token-using calls refuse with a bare HTTP 401, no envelope (no status is stated, line 68)",
    "race_window": "a validate code is checked, then marked used 100 ms later, and getUserByToken writes back the "
    "token record it read 100 ms before: simultaneous uses all succeed, a destroy in between is lost (lines 114, 264)",
}

# Faults that are readings the document allows, not faults: the suite must pass them (tests/test_readings.py).
READINGS = {"table_spelling_only", "check_status_1_negative", "destroy_revokes_all", "refusal_http_401"}


class BadBody(Exception):
    """The request body is neither a JSON object nor a form."""


async def read_body(request: Request) -> dict[str, Any]:
    """Query parameters merged with a form body or a JSON object body (the SDK sends JSON, line 56)."""
    params: dict[str, Any] = dict(request.query_params)
    raw = await request.body()
    if "form" in request.headers.get("content-type", ""):
        params.update(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    elif raw.strip():
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise BadBody from exc
        if not isinstance(body, dict):
            raise BadBody
        params.update(body)
    return params


def param(params: dict[str, Any], name: str, spellings: tuple[str, ...] | None = None) -> str | None:
    """A non-empty string parameter by its name or its alias; numbers count as their text."""
    for key in spellings or (name, ALIASES.get(name)):
        value = params.get(key) if key else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and value:
            return value
    return None


def build(state: ServerState) -> Starlette:
    def answer(payload: dict[str, Any]) -> Response:
        status: int | str = "1" if state.fault("status_string") else 1
        return JSONResponse({"status": status, **payload})

    def fail(message: str) -> Response:
        return JSONResponse(
            {"status": 0, "result": message}, status_code=500 if state.fault("failure_http_500") else 200
        )

    def refuse(message: str) -> Response:
        """A token-using call's failure: the envelope, or (refusal_http_401) a bare HTTP 401."""
        if state.fault("refusal_http_401"):
            return PlainTextResponse(message, status_code=401)
        return fail(message)

    def embedded(value: dict[str, Any]) -> str | dict[str, Any]:
        return value if state.fault("result_object") else json.dumps(value)

    def tokens(username: str, refresh: str | None = None) -> Response:
        lifetime: float | None = None if state.fault("tokens_never_expire") else ACCESS_LIFETIME
        lifetime = lifetime / 2 if lifetime is not None and state.fault("token_dies_early") else lifetime
        previous = state.grants[refresh].data.get("access") if refresh and refresh in state.grants else None
        if previous and state.fault("refresh_same_access_token"):
            access = previous
        else:
            access = state.issue("access_token", lifetime, username=username)
        refresh = refresh or state.issue("refresh_token", None, username=username)
        state.grants[refresh].data["access"] = access
        result = {"accessToken": access, "refreshToken": refresh, "expires_in": str(ACCESS_LIFETIME)}
        return answer({"result": embedded(result)})

    def endpoint(
        handler: Callable[[dict[str, Any]], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def wrapped(request: Request) -> Response:
            try:
                params = await read_body(request)
            except BadBody:
                if state.fault("crash_on_bad_json"):
                    return PlainTextResponse("<html>Internal Server Error</html>", status_code=500)
                return fail("malformed request body")
            return await handler(params)

        return wrapped

    async def token(params: dict[str, Any]) -> Response:
        client = state.client
        sysid, client_id, username = (
            param(params, "sysid"),
            param(params, "client_id"),
            param(params, "username"),
        )
        if sysid not in {None, SYSID} or client_id not in {None, client.client_id}:
            return fail("unknown sysid or client_id")  # sent by the SDK, but nothing says required
        if username is None and not state.fault("missing_username_accepted"):
            return fail("username is required")
        if username is not None and username != client.username and not state.fault("unknown_user_accepted"):
            return fail("unknown user")
        code = param(params, "validateCode")
        if code is not None:
            grant = state.grants.get(code) if state.fault("validate_code_reusable") else None
            grant = grant if grant is not None and grant.kind == "validate_code" else None
            grant = grant or state.lookup("validate_code", code)
            if grant is None and state.fault("validate_code_any_accepted"):
                return tokens(client.username)
            if grant is None:
                return fail("validate code is invalid, expired or used")
            await race_window(state)
            grant.used = True
            return tokens(client.username)
        md5, sha = param(params, "md5password"), param(params, "shapassword")
        if md5 is None and sha is None:
            return fail("md5password, shapassword or validateCode is required")
        password = client.password.encode()
        md5_ok = md5 is not None and md5.lower() == hashlib.md5(password).hexdigest()
        sha_ok = sha is not None and sha.lower() == hashlib.sha1(password).hexdigest()
        if not (md5_ok or sha_ok):
            return fail("username or password is wrong")
        return tokens(client.username)

    def access_token(params: dict[str, Any]) -> str | None:
        """The token of check / user / temp token: accessToken (example bodies 178, 232, 394) or
        access_token (tables 168, 222, 384); table_spelling_only takes the table's alone."""
        only_table = ("access_token",) if state.fault("table_spelling_only") else None
        return param(params, "accessToken", only_table)

    async def check(params: dict[str, Any]) -> Response:
        value = access_token(params)
        if value is None and state.fault("check_status_1_negative"):
            return answer({"result": "invalid"})  # a token it never read is not a valid one
        if value is None:
            return refuse("accessToken is required")
        destroyed = state.grants.get(value) if value is not None else None
        if destroyed is not None and destroyed.data.get("destroyed") and state.fault("destroy_leaves_check_valid"):
            return answer({"result": "valid"})
        if state.lookup("access_token", value) is None and not state.fault("check_accepts_garbage"):
            if state.fault("check_status_1_negative"):
                return answer({"result": "invalid"})
            return refuse("access token is invalid")
        return answer({"result": "valid"})

    async def user(params: dict[str, Any]) -> Response:
        grant = state.lookup("access_token", access_token(params))
        if grant is None and state.fault("get_user_accepts_garbage"):
            return answer({"user": embedded({"username": state.client.username})})
        if grant is None:
            return refuse("access token is invalid")
        await touch(state, str(access_token(params)))
        return answer({"user": embedded({"username": grant.data["username"]})})

    async def destroy(params: dict[str, Any]) -> Response:
        value = params.get("access_token")
        if state.lookup("access_token", value) is None or not isinstance(value, str):
            return fail("access token is invalid")
        if state.fault("destroy_revokes_all"):
            for grant in state.grants.values():
                grant.used = grant.used or grant.kind != "validate_code"
        elif not state.fault("destroy_noop"):
            state.revoke(value)
            state.grants[value].data["destroyed"] = True
        return answer({"result": "destroyed"})

    async def refresh(params: dict[str, Any]) -> Response:
        value = param(params, "refresh_token")
        if value is None:
            return fail("refresh_token is required")
        grant = state.lookup("refresh_token", value)
        if grant is None and not state.fault("garbage_refresh_accepted"):
            return fail("refresh token is invalid")
        return tokens(grant.data["username"] if grant else state.client.username, refresh=value)

    async def temp_token(params: dict[str, Any]) -> Response:
        grant = state.lookup("access_token", access_token(params))
        if grant is None and state.fault("temp_token_accepts_garbage"):
            return answer({"result": state.issue("temp_token", None, username=state.client.username)})
        if grant is None:
            return refuse("access token is invalid")
        return answer({"result": state.issue("temp_token", None, username=grant.data["username"])})

    def new_code() -> str:
        return state.issue("validate_code", VALIDATE_CODE_LIFETIME)

    handlers = {
        "/oauth/token": token,
        "/user/checkOauthToken": check,
        "/user/getUserByToken": user,
        "/oauth/destoryToken": destroy,  # sic, line 264
        "/oauth/refreshAccessToken": refresh,
        "/oauth/getTempToken": temp_token,
    }
    routes = [Route(path, endpoint(handler), methods=["POST"]) for path, handler in handlers.items()]
    return Starlette(routes=[*routes, *test_routes(state, new_code)])
