"""Reference server for the wechatweb dialect (docs/dialects/wechatweb.txt): website QR-code login.

The authorization page /connect/qrconnect redirects with a code (line 19); four GET interfaces take
their parameters in the query (lines 25, 47, 56, 64). Every error is HTTP 200 with an integer
`errcode` and an `errmsg` (line 83). The page auto-approves for the one registered client; codes
also come from the test-only `/_test/code`.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from conformance.servers.base import Client, Grant, ServerState, race_window, test_routes
from conformance.servers.modifiers import Answer, Modifier, change, drop, on_path

ACCESS_LIFETIME = 7200  # line 42
REFRESH_LIFETIME = 30 * 86400  # line 46
CODE_LIFETIME = 300  # line 22
SCOPE = "snsapi_login"  # line 16
CALLBACK_DOMAIN = urlsplit(Client().redirect_uri).hostname  # the registered 授权回调域 (line 18)

FAULTS = {
    "authorize_no_code": "the page redirects with state only, no code (line 19)",
    "code_param_misnamed": "the page redirects with auth_code= instead of code= (line 19)",
    "state_dropped": "the page redirects without the state it was sent (line 17)",
    "redirect_domain_not_checked": "the page redirects to a redirect_uri on any domain (line 18)",
    "code_reusable": "a code can be exchanged more than once (line 22)",
    "code_never_expires": "a code still works after five minutes (line 22)",
    "unknown_code_40163": "a made-up code gets 40163 (code been used) instead of 40029 (line 91)",
    "unknown_appid_accepted": "any appid is accepted by the interfaces (line 90)",
    "wrong_secret_accepted": "a wrong secret is accepted (lines 87, 93)",
    "wrong_secret_40001": "a wrong secret gets 40001 (line 87), a reading the suite accepts",
    "grant_type_ignored": "any grant_type is accepted (line 88)",
    "expires_in_epoch": "expires_in is an absolute epoch time, not seconds (line 34)",
    "lifetime_3600": "the access token lives, and says it lives, one hour instead of two (line 42)",
    "lifetime_7000": "the access token lives, and says it lives, 7000 s instead of 7200 (line 42)",
    "token_dies_early": "an access token stops working after one hour while its expires_in says two (line 42)",
    "code_dies_early": "a code stops working after two and a half minutes, not five (line 22)",
    "refresh_token_dies_early": "a refresh token stops working after 15 days, not 30 (line 46)",
    "expiry_whole_minutes": "every expiry falls on the nearest whole minute of the clock (a reading: lifetimes "
    "are stated in minutes, hours and days)",
    "tokens_never_expire": "access tokens keep working after expires_in (line 42)",
    "garbage_refresh_accepted": "any refresh_token is accepted (line 92)",
    "check_accepts_garbage": "/sns/auth answers errcode 0 for any access_token (line 87)",
    "userinfo_accepts_garbage": "/sns/userinfo answers a user for any access_token (line 87)",
    "openid_per_grant": "each grant gets another openid for the same user (line 36)",
    "errors_status_400": "errors are answered with HTTP 400 instead of 200 (line 83)",
    "crash_on_non_ascii": "a parameter value outside ASCII gets a 500 page (line 83)",
    "no_openid": "the code exchange's answer lacks openid (line 36)",
    "refresh_no_scope": "the refresh answer lacks scope (line 52)",
    "check_errcode_string": '/sns/auth answers errcode "0", a string, instead of the integer 0 (line 60)',
    "userinfo_sex_string": 'the user\'s sex is the string "1", not an integer (line 73)',
    "missing_appid_accepted": "an interface without appid takes the registered one (lines 27, 49)",
    "missing_secret_accepted": "the code exchange works without secret (line 28)",
    "missing_code_40029": "a missing code gets 40029 instead of 41008 (lines 29, 99)",
    "missing_grant_type_accepted": "an interface without grant_type takes the documented one (lines 30, 50)",
    "missing_refresh_token_40030": "a missing refresh_token gets 40030 instead of 41003 (lines 51, 97)",
    "missing_access_token_40001": "a missing access_token gets 40001 instead of 41001 (lines 58, 66, 95)",
    "missing_openid_accepted": "/sns/auth and /sns/userinfo work without openid (lines 59, 67)",
    "openid_not_checked": "/sns/auth and /sns/userinfo take any openid with a live access token (line 89)",
    "refresh_token_never_expires": "a refresh token still works after 30 days (line 46)",
    "expired_token_40001": "an expired access token gets 40001 instead of 42001 (line 100)",
    "refresh_replaces_live_token": "a refresh while the access token is live answers a new one (line 45)",
    "refresh_does_not_renew": "a refresh while the access token is live leaves its expiry as it was (line 45)",
    "refresh_refused_after_expiry": "a refresh after the access token expired gets 42001 (lines 43-44)",
    "constant_code": "every authorization redirects with the same code (line 21)",
    "race_window": "a code is checked, then marked used 100 ms later: simultaneous exchanges all succeed (line 22)",
    "authorize_defaults_missing": "the page fills in a missing appid, redirect_uri, response_type, scope (lines 13-16)",
}

# Faults that are readings the document allows, not faults: the suite must pass them (tests/test_readings.py).
READINGS = {"wrong_secret_40001", "expiry_whole_minutes"}


def _errors_status(status: int) -> Modifier:
    """Answer every error of the dialect (errcode present and not 0) with `status`."""

    def modify(answer: Answer) -> None:
        if isinstance(answer.body, dict) and answer.body.get("errcode") not in (None, 0):
            answer.status = status

    return modify


# Faults that only alter an answer (see modifiers.py); the handlers below stay a correct server.
MODIFIERS: dict[str, Modifier] = {
    "expires_in_epoch": change("/expires_in", lambda value, answer: int(answer.now) + value),
    "errors_status_400": _errors_status(400),
    "no_openid": on_path("/sns/oauth2/access_token", drop("/openid")),
    "refresh_no_scope": on_path("/sns/oauth2/refresh_token", drop("/scope")),
    "check_errcode_string": on_path("/sns/auth", change("/errcode", lambda value, _: str(value))),
    "userinfo_sex_string": on_path("/sns/userinfo", change("/sex", lambda value, _: str(value))),
}

Handler = Callable[[dict[str, str]], Awaitable[Response]]


def error(code: int, message: str) -> Response:
    """Every error is HTTP 200 with an integer errcode and an errmsg (line 83)."""
    return JSONResponse({"errcode": code, "errmsg": message})


def page(message: str) -> Response:
    """The authorization page's own refusal: a page, no redirect. The document leaves its form unsaid;
    HTTP 400 tells it from the page a user signs in on (which the suite would need `login` steps for)."""
    return HTMLResponse(f"<html><body><p>{message}</p></body></html>", status_code=400)


def build(state: ServerState) -> Starlette:
    client = state.client

    def openid() -> str:
        """One user, one openid per application (line 36), unless the fault makes one per grant."""
        if state.fault("openid_per_grant"):
            return "o" + secrets.token_hex(14)
        return "o" + hashlib.sha256(f"{client.client_id}:{client.username}".encode()).hexdigest()[:27]

    def stated() -> int:
        """The access token's lifetime as expires_in states it (line 42: 7200 s)."""
        if state.fault("lifetime_3600"):
            return 3600
        return 7000 if state.fault("lifetime_7000") else ACCESS_LIFETIME

    def lifetime() -> float | None:
        """How long an access token actually lives."""
        if state.fault("tokens_never_expire"):
            return None
        return stated() / 2 if state.fault("token_dies_early") else stated()

    def expiry(seconds: float | None) -> float | None:
        """The expiry time of something that lives `seconds` from now; under the expiry_whole_minutes
        reading, on the nearest whole minute (a server that keeps expiries to the minute)."""
        if seconds is None:
            return None
        at = state.clock.now() + seconds
        return round(at / 60) * 60 if state.fault("expiry_whole_minutes") else at

    def issue(kind: str, seconds: float | None, **data: Any) -> str:
        value = state.issue(kind, seconds, **data)
        state.grants[value].expires_at = expiry(seconds)
        return value

    def answer(access: str, refresh: str, user: str) -> Response:
        body = {"access_token": access, "expires_in": stated(), "refresh_token": refresh, "openid": user}
        return JSONResponse(body | {"scope": SCOPE})

    def live(grant: Grant | None) -> bool:
        return grant is not None and (grant.expires_at is None or state.clock.now() < grant.expires_at)

    def missing(params: dict[str, str], name: str, fault: str | None = None) -> bool:
        return not params.get(name) and not (fault and state.fault(fault))

    def wrong_appid(params: dict[str, str]) -> bool:
        given = params.get("appid") or client.client_id  # absent only under missing_appid_accepted
        return given != client.client_id and not state.fault("unknown_appid_accepted")

    def wrong_grant_type(params: dict[str, str], expected: str) -> bool:
        given = params.get("grant_type") or expected  # absent only under missing_grant_type_accepted
        return given != expected and not state.fault("grant_type_ignored")

    async def access_token(params: dict[str, str]) -> Response:
        """通过code获取access_token (lines 24-39)."""
        if missing(params, "appid", "missing_appid_accepted"):
            return error(41002, "appid missing")
        if missing(params, "secret", "missing_secret_accepted"):
            return error(41004, "appsecret missing")
        if not params.get("code"):
            return error(40029, "invalid code") if state.fault("missing_code_40029") else error(41008, "missing code")
        if missing(params, "grant_type", "missing_grant_type_accepted"):
            return error(40002, "invalid grant_type")
        if wrong_appid(params):
            return error(40013, "invalid appid")
        secret = params.get("secret")
        if secret and secret != client.client_secret and not state.fault("wrong_secret_accepted"):
            return (
                error(40001, "invalid credential")
                if state.fault("wrong_secret_40001")
                else error(40125, "invalid appsecret")
            )
        if wrong_grant_type(params, "authorization_code"):
            return error(40002, "invalid grant_type")
        grant = state.grants.get(params["code"])
        if grant is None or grant.kind != "code":
            return error(40163, "code been used") if state.fault("unknown_code_40163") else error(40029, "invalid code")
        if grant.used and not state.fault("code_reusable"):
            return error(40163, "code been used")
        if not live(grant) and not state.fault("code_never_expires"):
            return error(42003, "code expired")
        await race_window(state)
        grant.used = True
        user = openid()
        access = issue("access_token", lifetime(), openid=user)
        refresh = issue("refresh_token", refresh_lifetime(), openid=user, access=access)
        return answer(access, refresh, user)

    def refresh_lifetime() -> float | None:
        if state.fault("refresh_token_never_expires"):
            return None
        return REFRESH_LIFETIME / 2 if state.fault("refresh_token_dies_early") else REFRESH_LIFETIME

    async def refresh_token(params: dict[str, str]) -> Response:
        """刷新access_token有效期 (lines 41-53): a live access token is kept and renewed (line 45), an
        expired one replaced (line 44); the refresh token itself lasts 30 days (line 46)."""
        if missing(params, "appid", "missing_appid_accepted"):
            return error(41002, "appid missing")
        if missing(params, "grant_type", "missing_grant_type_accepted"):
            return error(40002, "invalid grant_type")
        if not params.get("refresh_token"):
            if state.fault("missing_refresh_token_40030"):
                return error(40030, "invalid refresh_token")
            return error(41003, "refresh_token missing")
        if wrong_appid(params):
            return error(40013, "invalid appid")
        if wrong_grant_type(params, "refresh_token"):
            return error(40002, "invalid grant_type")
        grant = state.grants.get(params["refresh_token"])
        if grant is None or grant.kind != "refresh_token":
            if not state.fault("garbage_refresh_accepted"):
                return error(40030, "invalid refresh_token")
            user = openid()
            value = params["refresh_token"]
            grant = state.grants[issue("refresh_token", REFRESH_LIFETIME, openid=user, access="")]
            state.grants[value] = grant
        if not live(grant):
            return error(42002, "refresh_token expired")
        user = grant.data["openid"]
        access = state.grants.get(grant.data["access"])
        if not live(access) and state.fault("refresh_refused_after_expiry"):
            return error(42001, "access_token expired")
        if access is not None and live(access) and not state.fault("refresh_replaces_live_token"):
            ttl = lifetime()
            if not state.fault("refresh_does_not_renew"):
                access.expires_at = expiry(ttl)
            value = grant.data["access"]
        else:
            value = issue("access_token", lifetime(), openid=user)
            grant.data["access"] = value
        return answer(value, params["refresh_token"], user)

    def bearer(params: dict[str, str], lenient: str) -> Response | Grant | None:
        """The access token and openid of /sns/auth and /sns/userinfo: its grant, or the error
        (None: a made-up token the `lenient` fault lets through)."""
        if not params.get("access_token"):
            if state.fault("missing_access_token_40001"):
                return error(40001, "invalid credential")
            return error(41001, "access_token missing")
        if missing(params, "openid", "missing_openid_accepted"):
            return error(40003, "invalid openid")
        grant = state.grants.get(params["access_token"])
        if grant is None or grant.kind != "access_token":
            return None if state.fault(lenient) else error(40001, "invalid credential")
        if not live(grant):
            if state.fault("expired_token_40001"):
                return error(40001, "invalid credential")
            return error(42001, "access_token expired")
        if params.get("openid") and params["openid"] != grant.data["openid"] and not state.fault("openid_not_checked"):
            return error(40003, "invalid openid")
        return grant

    async def auth(params: dict[str, str]) -> Response:
        """检验授权凭证 (lines 55-61): {"errcode":0,"errmsg":"ok"} for a live token and its openid."""
        found = bearer(params, "check_accepts_garbage")
        return found if isinstance(found, Response) else JSONResponse({"errcode": 0, "errmsg": "ok"})

    async def userinfo(params: dict[str, str]) -> Response:
        """获取用户个人信息 (lines 63-80)."""
        found = bearer(params, "userinfo_accepts_garbage")
        if isinstance(found, Response):
            return found
        user = found.data["openid"] if found is not None else openid()
        body: dict[str, Any] = {
            "openid": user,
            "nickname": client.username,
            "sex": 2,
            "province": "Guangdong",
            "city": "Shenzhen",
            "country": "CN",
            "headimgurl": "",  # line 77: empty when the user has no picture
            "privilege": [],
            "unionid": "u" + user[1:],
        }
        return JSONResponse(body)

    def interface(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            params = dict(request.query_params)
            if state.fault("crash_on_non_ascii") and any(not value.isascii() for value in params.values()):
                return PlainTextResponse("<html>Internal Server Error</html>", status_code=500)
            return await handler(params)

        return endpoint

    async def qrconnect(request: Request) -> Response:
        """请求code (lines 10-22): the page auto-approves for the registered client."""
        params = dict(request.query_params)
        if state.fault("authorize_defaults_missing"):
            defaults = {"appid": client.client_id, "redirect_uri": client.redirect_uri, "response_type": "code"}
            params = {**defaults, "scope": SCOPE, **{k: v for k, v in params.items() if v}}
        if params.get("appid") != client.client_id:
            return page("AppID 参数错误")
        target = params.get("redirect_uri", "")
        if not target or (
            urlsplit(target).hostname != CALLBACK_DOMAIN and not state.fault("redirect_domain_not_checked")
        ):
            return page("redirect_uri 参数错误")
        if params.get("response_type") != "code" or SCOPE not in params.get("scope", "").split(","):
            return page("Scope 参数错误或没有 Scope 权限")
        carried: dict[str, str] = {}
        if not state.fault("authorize_no_code"):
            carried["auth_code" if state.fault("code_param_misnamed") else "code"] = new_code()
        if "state" in params and not state.fault("state_dropped"):
            carried["state"] = params["state"]
        joiner = "&" if "?" in target else "?"
        return RedirectResponse(target + joiner + urlencode(carried), status_code=302)

    def new_code() -> str:
        seconds = CODE_LIFETIME / 2 if state.fault("code_dies_early") else CODE_LIFETIME
        if state.fault("constant_code"):  # the same value each time, issued afresh (so it works once)
            state.grants["constant-code"] = Grant("code", expiry(seconds))
            return "constant-code"
        return issue("code", seconds)

    handlers: dict[str, Handler] = {
        "/sns/oauth2/access_token": access_token,
        "/sns/oauth2/refresh_token": refresh_token,
        "/sns/auth": auth,
        "/sns/userinfo": userinfo,
    }
    routes = [Route(path, interface(handler), methods=["GET"]) for path, handler in handlers.items()]
    routes.append(Route("/connect/qrconnect", qrconnect, methods=["GET"]))
    return Starlette(routes=[*routes, *test_routes(state, new_code)])
