"""Building blocks shared by the reference servers: a movable clock, fault switches, a token store.

Each profile module implements its document on top of these and declares the faults it can be
switched into; a mutant is a reference server with one fault on.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route


class Clock:
    """Wall clock plus an offset that tests move forward instead of sleeping."""

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        self._offset += seconds

    def reset(self) -> None:
        self._offset = 0.0


@dataclass(frozen=True)
class Client:
    """The one registered client and resource owner every reference server knows."""

    client_id: str = "app-1"
    client_secret: str = "secret-1"
    redirect_uri: str = "http://localhost/cb"
    username: str = "alice"
    password: str = "wonderland"


@dataclass
class Grant:
    """What an issued code or token stands for."""

    kind: str
    expires_at: float | None
    data: dict[str, Any] = field(default_factory=dict)
    used: bool = False


RACE_WINDOW_MS = 100  # the race_window fault: how long a check and the write it guards are apart
RACE_WINDOW = "race_window"


class ServerState:
    """Mutable state of one profile's server: clock, faults, and everything issued so far."""

    def __init__(self, profile: str, faults: Mapping[str, str]) -> None:
        self.profile = profile
        self.known_faults = dict(faults)
        self.faults: set[str] = set()
        self.clock = Clock()
        self.client = Client()
        self.grants: dict[str, Grant] = {}
        self.lock = threading.Lock()

    def fault(self, name: str) -> bool:
        if name not in self.known_faults:
            raise KeyError(f"{self.profile} has no fault {name!r}")
        return name in self.faults

    def set_faults(self, names: set[str] | frozenset[str]) -> None:
        unknown = set(names) - set(self.known_faults)
        if unknown:
            raise KeyError(f"{self.profile} has no faults {sorted(unknown)}; known: {sorted(self.known_faults)}")
        self.faults = set(names)

    def reset(self) -> None:
        with self.lock:
            self.faults = set()
            self.grants.clear()
            self.clock.reset()

    def issue(self, kind: str, lifetime: float | None, prefix: str = "", **data: Any) -> str:
        value = prefix + secrets.token_urlsafe(18)
        expires = None if lifetime is None else self.clock.now() + lifetime
        with self.lock:
            self.grants[value] = Grant(kind, expires, dict(data))
        return value

    def lookup(self, kind: str, value: object) -> Grant | None:
        """The live grant of that kind, or None if unknown, used or expired."""
        if not isinstance(value, str):
            return None
        grant = self.grants.get(value)
        if grant is None or grant.kind != kind or grant.used:
            return None
        if grant.expires_at is not None and self.clock.now() >= grant.expires_at:
            return None
        return grant

    def revoke(self, value: str) -> None:
        grant = self.grants.get(value)
        if grant is not None:
            grant.used = True


async def race_window(state: ServerState) -> None:
    """The race_window fault, between a check and the write it guards: the handler yields to the
    event loop, so a simultaneous request passes the same check before this one writes (without
    the fault, no await separates them, and a single event loop makes check-then-write atomic)."""
    if state.fault(RACE_WINDOW):
        await asyncio.sleep(RACE_WINDOW_MS / 1000)


async def touch(state: ServerState, value: str) -> None:
    """A use of a token that, under the race_window fault, records itself by writing back the copy of
    the token's record it read before its yield: a revocation in between is lost (a lost update)."""
    grant = state.grants.get(value)
    if grant is None or not state.fault(RACE_WINDOW):
        return
    copy = replace(grant, data=dict(grant.data))
    await race_window(state)
    state.grants[value] = copy


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """(client_id, client_secret) from an HTTP Basic header, each form-urlencoded (RFC 6749 §2.3.1);
    None without one, empty strings when it cannot be decoded."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    client_id, _, secret = decoded.partition(":")
    return unquote_plus(client_id), unquote_plus(secret)


async def read_params(request: Request) -> dict[str, Any]:
    """Query parameters merged with a form or JSON body, whichever the request carries."""
    params: dict[str, Any] = dict(request.query_params)
    if request.method in {"POST", "PUT"}:
        ctype = request.headers.get("content-type", "")
        if "json" in ctype:
            try:
                body = await request.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                params.update(body)
        elif "form" in ctype:
            text = (await request.body()).decode("utf-8", "replace")
            params.update(dict(parse_qsl(text, keep_blank_values=True)))
    return params


def test_routes(state: ServerState, new_code: Callable[[], str]) -> list[Route]:
    """Test-only routes: provision a fresh code, move the clock. Never part of a real server."""

    async def code(request: Request) -> Response:
        return PlainTextResponse(new_code())

    async def clock(request: Request) -> Response:
        state.clock.advance(float(request.query_params.get("advance", "0")))
        return JSONResponse({"now": state.clock.now()})

    return [Route("/_test/code", code, methods=["GET"]), Route("/_test/clock", clock, methods=["POST"])]


def bearer_resource(
    state: ServerState,
    accepts: Callable[[str], bool] | None = None,
    error_code: Callable[[], str] | None = None,
) -> Route:
    """Test-only protected resource (RFC 6750 §2.1): the suite's `token_probe` of a reference server
    whose document has no endpoint that uses an access token. `accepts` (a live access token, by
    default) and `error_code` (invalid_token, by default) are hooks for a profile's faults."""

    def live(token: str) -> bool:
        return state.lookup("access_token", token) is not None

    async def resource(request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not (accepts or live)(token.strip()):
            code = error_code() if error_code else "invalid_token"
            headers = {"WWW-Authenticate": f'Bearer error="{code}"'}
            return JSONResponse({"error": code}, status_code=401, headers=headers)
        return JSONResponse({"ok": True})

    return Route("/_test/resource", resource, methods=["GET"])
