"""Reference server for the Ekuaibao document (003_6ecf09efafa1eb8d.txt): the open-API auth endpoints.

Verify codes come from the desktop client in the real platform (line 13); here from `/_test/code`. The
feature's own expiry (lines 61, 142) is a fixed server setting: FEATURE_DAYS from the clock at build
time, readable as `FEATURE_EXPIRY_MS[id(state)]` or `app.state.feature_expiry_ms`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from conformance.servers.base import Grant, ServerState, bearer_resource, race_window, test_routes
from conformance.servers.modifiers import change, unwrap

DAY_MS = 86_400_000
DEFAULT_DAYS = 32  # "默认32天后到期" (lines 37, 113)
VERIFY_CODE_LIFETIME = 2 * 3600  # two hours, single use (line 15)
FEATURE_DAYS = 3650  # unsaid by the document: the feature (powerCode) expires ten years after build
CORPORATION_ID = "corp-1"
CONSTANT_TOKEN = "u-constant-token"  # the constant_access_token fault's accessToken
FEATURE_EXPIRY_MS: dict[int, int] = {}  # id(state) -> the feature's expiry, epoch milliseconds

FAULTS = {
    "verify_code_reusable": "a verify code can be used more than once (line 15)",
    "verify_code_never_expires": "a verify code still works after two hours (line 15)",
    "expire_time_seconds": "expireTime is in epoch seconds, not milliseconds (line 37)",
    "default_30_days": "tokens expire after 30 days, not 32 (lines 37, 113)",
    "unclamped": "a custom expiry beyond the feature's expiry is not clamped (lines 61, 142)",
    "empty_expire_date_accepted": "an empty expireDate is treated as 32 days (lines 60, 141)",
    "refresh_no_rotate": "a refresh returns the same accessToken and refreshToken (lines 100, 140)",
    "refresh_keeps_refresh_token": "a refresh rotates accessToken but keeps refreshToken (lines 100, 140)",
    "refresh_after_expiry": "a refresh works with an expired accessToken (line 86)",
    "old_refresh_accepted": "the old refreshToken still works after a refresh (lines 100, 140)",
    "flat_body": "the response lacks the {value: ...} envelope (lines 34-41)",
    "crash_on_non_numeric": "a non-numeric expireDate gets a 500 HTML page (line 56)",
    "power_code_optional": "a request without powerCode is served (lines 24, 96: 必填)",
    "refresh_ignores_access_token": "a refresh checks only refreshToken, any accessToken passes (line 94)",
    "constant_access_token": "every grant answers the same accessToken (line 36: Token为随机码)",
    "refresh_default_30_days": "a refreshed token lasts 30 days, not 32 (line 113)",
    "verify_code_per_endpoint": "a verify code used at one token endpoint still works at the other (line 15)",
    "refresh_custom_after_expiry": "the custom-expiry refresh works with an expired accessToken (line 86)",
    "corporation_id_varies": "corporationId differs from one answer to the next (line 39)",
    "null_string_accepted": 'expireDate="null" is treated as 32 days (advice: lines 60, 141 say null)',
    "nonpositive_days_default": "expireDate=0 or negative is treated as 32 days (advice: unsaid)",
    "tokens_never_expire": "an accessToken keeps working after its expireTime (line 37)",
    "token_dies_early": "an accessToken stops working halfway to the expireTime it states (line 37)",
    "verify_code_dies_early": "a verify code stops working after one hour, not two (line 15)",
    "refuses_beyond_feature": "a custom expiry beyond the feature's expiry is refused, not clamped (lines 61, 142)",
    "second_refresh_refused": "a refreshToken issued by a refresh is refused: refreshes cannot be chained (line 100)",
    "expiry_day_boundary": "every expireTime is rounded up to the next midnight UTC (a reading: expiries are in days)",
    "feature_expires_soon": "the feature expires 20 days from now, so the 32-day default is cut to it (line 61)",
    "race_window": "a verify code or refresh pair is checked, then spent 100 ms later: simultaneous requests "
    "all succeed (lines 15, 100)",
}

# Faults that are readings the document allows (tests/test_readings.py): the suite must pass them.
READINGS = {"expiry_day_boundary", "feature_expires_soon"}
SOON_DAYS = 20  # feature_expires_soon: a feature (powerCode) that always has 20 days left


class ApiError(Exception):
    """An error answer: errorCode and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Crash(Exception):
    """The crash_on_non_numeric fault's 500 page."""


# Faults that only alter an answer (see modifiers.py); the handlers below stay a correct server.
MODIFIERS = {
    "expire_time_seconds": change("/value/expireTime", lambda value, _: value // 1000),
    "flat_body": unwrap("value"),
}


def build(state: ServerState) -> Starlette:
    feature_expiry_ms = int(state.clock.now() * 1000) + FEATURE_DAYS * DAY_MS
    FEATURE_EXPIRY_MS[id(state)] = feature_expiry_ms

    def now_ms() -> int:
        return int(state.clock.now() * 1000)

    def feature_ms() -> int:
        return now_ms() + SOON_DAYS * DAY_MS if state.fault("feature_expires_soon") else feature_expiry_ms

    def stated(expire_ms: int) -> int:
        """The expireTime answered: min(wanted, the feature's expiry), rounded up to a midnight under
        expiry_day_boundary."""
        expire_ms = min(expire_ms, feature_ms()) if not state.fault("unclamped") else expire_ms
        return -(-expire_ms // DAY_MS) * DAY_MS if state.fault("expiry_day_boundary") else expire_ms

    def required(request: Request, name: str) -> str:
        value = request.query_params.get(name)
        if not value:
            raise ApiError("missing_parameter", f"{name} is required")
        return value

    def custom_expiry(request: Request) -> int:
        """expireTime for a custom expireDate in days (lines 56-61, 135-142)."""
        raw = request.query_params.get("expireDate")
        if raw is not None and raw.strip() == "null" and state.fault("null_string_accepted"):
            return now_ms() + DEFAULT_DAYS * DAY_MS
        if raw is None or raw.strip() in {"", "null"}:
            if state.fault("empty_expire_date_accepted") and raw != "null":
                return now_ms() + DEFAULT_DAYS * DAY_MS
            raise ApiError("invalid_expire_date", "expireDate must not be null or empty")
        try:
            days = int(raw)
        except ValueError as exc:
            if state.fault("crash_on_non_numeric"):
                raise Crash from exc
            raise ApiError("invalid_expire_date", "expireDate must be a whole number of days") from exc
        if days <= 0 and state.fault("nonpositive_days_default"):
            return now_ms() + DEFAULT_DAYS * DAY_MS
        if days <= 0:
            raise ApiError("invalid_expire_date", "expireDate must be positive")
        if now_ms() + days * DAY_MS > feature_ms() and state.fault("refuses_beyond_feature"):
            raise ApiError("invalid_expire_date", "expireDate goes beyond the feature's expiry")
        return stated(now_ms() + days * DAY_MS)

    def default_expiry(refreshed: bool = False) -> int:
        short = state.fault("default_30_days") or (refreshed and state.fault("refresh_default_30_days"))
        days = 30 if short else DEFAULT_DAYS
        if now_ms() + days * DAY_MS > feature_ms() and state.fault("refuses_beyond_feature"):
            raise ApiError("invalid_expire_date", "expireDate goes beyond the feature's expiry")
        return stated(now_ms() + days * DAY_MS)

    def answer(access: str, refresh: str, expire_ms: int) -> Response:
        value = {
            "accessToken": access,
            "expireTime": expire_ms,
            "refreshToken": refresh,
            "corporationId": CORPORATION_ID + (f"-{now_ms()}" if state.fault("corporation_id_varies") else ""),
        }
        return JSONResponse({"value": value})

    def issue(expire_ms: int) -> Response:
        lifetime = (expire_ms - now_ms()) / 1000
        lifetime = lifetime / 2 if state.fault("token_dies_early") else lifetime
        access = state.issue("access_token", None if state.fault("tokens_never_expire") else lifetime)
        if state.fault("constant_access_token"):
            state.grants[CONSTANT_TOKEN] = state.grants.pop(access)
            access = CONSTANT_TOKEN
        refresh = state.issue("refresh_token", None, access=[access])
        return answer(access, refresh, expire_ms)

    async def use_verify_code(request: Request, kind: str) -> None:
        code = request.path_params["code"].removeprefix("$")
        grant: Grant | None = state.grants.get(code)
        reused = grant is not None and grant.used and not state.fault("verify_code_reusable")
        if reused and grant is not None and state.fault("verify_code_per_endpoint"):
            reused = kind in grant.data.get("used_by", set())
        if grant is None or grant.kind != "verify_code" or reused:
            grant = None
        elif grant.expires_at is not None and state.clock.now() >= grant.expires_at:
            grant = grant if state.fault("verify_code_never_expires") else None
        if grant is None:
            raise ApiError("invalid_verify_code", "verifyCode is invalid, expired or already used")
        await race_window(state)
        grant.used = True
        grant.data.setdefault("used_by", set()).add(kind)

    async def refresh(request: Request, expire_ms: int | None) -> Response:
        custom = expire_ms is not None
        access, refresh = required(request, "accessToken"), required(request, "refreshToken")
        refresh_grant = state.lookup("refresh_token", refresh)
        if refresh_grant is not None and state.fault("refresh_ignores_access_token"):
            access = refresh_grant.data["access"][-1]
        if refresh_grant is None or access not in refresh_grant.data["access"]:
            raise ApiError("invalid_token", "accessToken and refreshToken are not a live pair")
        if refresh_grant.data.get("chained") and state.fault("second_refresh_refused"):
            raise ApiError("invalid_token", "refreshToken cannot be refreshed again")
        access_grant = state.grants.get(access)
        if access_grant is None or access_grant.used:
            raise ApiError("invalid_token", "accessToken is invalid")
        expired = access_grant.expires_at is not None and state.clock.now() >= access_grant.expires_at
        lenient = state.fault("refresh_after_expiry") or (custom and state.fault("refresh_custom_after_expiry"))
        if expired and not lenient:
            raise ApiError("token_expired", "accessToken has expired; get a new one with a verifyCode")
        expire_ms = default_expiry(refreshed=True) if expire_ms is None else expire_ms
        await race_window(state)
        if state.fault("refresh_no_rotate"):
            access_grant.expires_at = expire_ms / 1000
            return answer(access, refresh, expire_ms)
        new_access = state.issue("access_token", (expire_ms - now_ms()) / 1000)
        if state.fault("old_refresh_accepted"):
            refresh_grant.data["access"].append(new_access)
            return answer(new_access, state.issue("refresh_token", None, access=[new_access]), expire_ms)
        state.revoke(access)
        if state.fault("refresh_keeps_refresh_token"):
            refresh_grant.data["access"] = [new_access]
            return answer(new_access, refresh, expire_ms)
        state.revoke(refresh)
        return answer(new_access, state.issue("refresh_token", None, access=[new_access], chained=True), expire_ms)

    def endpoint(kind: str) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            try:
                if not state.fault("power_code_optional"):
                    required(request, "powerCode")
                if kind == "auth":
                    await use_verify_code(request, kind)
                    return issue(default_expiry())
                if kind == "auth_custom":
                    expire_ms = custom_expiry(request)
                    await use_verify_code(request, kind)
                    return issue(expire_ms)
                return await refresh(request, custom_expiry(request) if kind == "refresh_custom" else None)
            except ApiError as exc:
                return JSONResponse({"errorCode": exc.code, "message": exc.message}, status_code=400)
            except Crash:
                return PlainTextResponse("<html>Internal Server Error</html>", status_code=500)

        return handle

    def new_code() -> str:
        lifetime = VERIFY_CODE_LIFETIME / 2 if state.fault("verify_code_dies_early") else VERIFY_CODE_LIFETIME
        return state.issue("verify_code", lifetime)

    routes = [
        Route("/api/openapi/v1/auth/expireDate/{code}", endpoint("auth_custom"), methods=["POST"]),
        Route("/api/openapi/v1/auth/{code}", endpoint("auth"), methods=["POST"]),
        Route("/api/openapi/v2/auth/refreshToken/expireDate", endpoint("refresh_custom"), methods=["POST"]),
        Route("/api/openapi/v2/auth/refreshToken", endpoint("refresh"), methods=["POST"]),
        bearer_resource(state),
        *test_routes(state, new_code),
    ]
    app = Starlette(routes=routes)
    app.state.feature_expiry_ms = feature_expiry_ms
    return app
