"""Which reference server implements which profile, and the config that drives it."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any, Protocol, cast

from starlette.applications import Starlette

from conformance.servers.base import Client, ServerState


class ServerModule(Protocol):
    FAULTS: Mapping[str, str]
    build: Callable[[ServerState], Starlette]


PROFILES: tuple[str, ...] = ("everydo", "usercenter", "yixin", "ekuaibao", "generic", "rfc6749", "wechatweb")

# Fixed profile parameters the reference servers expect (the config's `params`).
PROFILE_PARAMS: dict[str, dict[str, str]] = {
    "usercenter": {"sysid": "sys-1"},
    "ekuaibao": {"powerCode": "219902"},
}


# Other config the reference servers need: generic grants two scopes.
PROFILE_EXTRAS: dict[str, dict[str, Any]] = {
    "generic": {"scope": "read write", "token_probe": {"url": "/_test/resource"}},
    # Yixin documents no endpoint that uses an access token: a test-only protected resource stands in.
    "yixin": {"token_probe": {"url": "/_test/resource"}},
    "ekuaibao": {"token_probe": {"url": "/_test/resource"}},
    # Codes come through the server's own login and consent pages, as with a real server.
    "rfc6749": {
        "scope": "read write",
        "clients": {"second": {"client_id": "app-2", "client_secret": "secret-2"}},  # cross-client checks
        "code_url": None,
        "login": [
            {"match": 'name="password"', "form": {"username": "{username}", "password": "{password}"}},
            {"match": 'name="consent_csrf"', "form": {"confirm": "yes"}},
        ],
    },
}


def load(profile: str) -> ServerModule:
    return cast(ServerModule, importlib.import_module(f"{__package__}.{profile}"))


def reference_config(profile: str, base_url: str) -> dict[str, Any]:
    """The target config (the documented YAML contract, as a dict) for a reference server."""
    client = Client()
    return {
        "target": base_url,
        "profile": profile,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "redirect_uri": client.redirect_uri,
        "username": client.username,
        "password": client.password,
        "code_url": f"{base_url}/_test/code",
        "clock_url": f"{base_url}/_test/clock",
        "params": dict(PROFILE_PARAMS.get(profile, {})),
        "max_requests": 10_000_000,  # an embedded server needs no protection from the suite
        **PROFILE_EXTRAS.get(profile, {}),
    }
