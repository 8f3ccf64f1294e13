"""Smoke test of the Authlib interop server: every flow the interop tests drive works end to end.

Why: if this fails, a failing interop test says nothing about the suite, only about the server.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.interop.authlib_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    CONSENT_CSRF_PATTERN,
    LOGIN_CSRF_PATTERN,
    PASSWORD,
    REDIRECT_URI,
    USERNAME,
    AuthlibServer,
)

pytestmark = pytest.mark.slow  # each test starts a real OAuth2 server (smoke: no suite run)

BASIC = httpx.BasicAuth(CLIENT_ID, CLIENT_SECRET)
POST_CREDENTIALS = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """A cookie-keeping client on a fresh server; redirects are looked at, not followed."""
    with AuthlibServer() as server, httpx.Client(base_url=server.url, timeout=10) as http:
        yield http


def _found(pattern: str, page: httpx.Response) -> str:
    match = re.search(pattern, page.text)
    assert match, f"{pattern!r} not on the page:\n{page.text}"
    return html.unescape(match.group(1))


def _authorize(http: httpx.Client, **params: str) -> dict[str, str]:
    """Log in through the form, consent, and return the parameters of the redirect to the client."""
    start = http.get("/oauth/authorize", params=params)
    assert start.status_code == 302 and start.headers["location"].startswith("/login?next=")
    login_page = http.get(start.headers["location"])
    form = {
        "username": USERNAME,
        "password": PASSWORD,
        "csrf": _found(LOGIN_CSRF_PATTERN, login_page),
        "next": _found(r'name="next" value="([^"]+)"', login_page),
    }
    logged_in = http.post("/login", data=form)
    assert logged_in.status_code == 302, logged_in.text
    consent_page = http.get(logged_in.headers["location"])
    assert consent_page.status_code == 200 and 'name="confirm" value="yes"' in consent_page.text
    consent = {"consent_csrf": _found(CONSENT_CSRF_PATTERN, consent_page), "confirm": "yes"}
    back = http.post(_found(r'<form method="post" action="([^"]+)"', consent_page), data=consent)
    assert back.status_code == 302, back.text
    location = urlsplit(back.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return {k: v[0] for k, v in parse_qs(location.query or location.fragment).items()}


def _token(http: httpx.Client, data: dict[str, str], auth: httpx.Auth | None = None) -> dict[str, object]:
    reply = http.post("/oauth/token", data=data, auth=auth) if auth else http.post("/oauth/token", data=data)
    assert reply.status_code == 200, reply.text
    assert reply.headers["cache-control"] == "no-store"
    body = reply.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    return dict(body)


def _introspect(http: httpx.Client, token: object) -> dict[str, object]:
    reply = http.post("/oauth/introspect", data={"token": str(token)}, auth=BASIC)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def test_metadata_names_the_endpoints(client: httpx.Client) -> None:
    meta = client.get("/.well-known/oauth-authorization-server").json()
    base = str(client.base_url).rstrip("/")
    assert meta["issuer"] == base
    assert meta["token_endpoint"] == base + "/oauth/token"
    assert meta["revocation_endpoint"] == base + "/oauth/revoke"
    assert meta["introspection_endpoint"] == base + "/oauth/introspect"
    assert set(meta["token_endpoint_auth_methods_supported"]) == {"client_secret_basic", "client_secret_post"}
    assert "S256" in meta["code_challenge_methods_supported"]


def test_code_flow_refresh_introspect_revoke(client: httpx.Client) -> None:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "scope": "read"}
    redirect = _authorize(client, state="xyz", code_challenge=challenge, code_challenge_method="S256", **params)
    assert redirect["state"] == "xyz"

    exchange = {"grant_type": "authorization_code", "code": redirect["code"], "redirect_uri": REDIRECT_URI}
    first = _token(client, {**exchange, "code_verifier": verifier}, BASIC)
    assert first["scope"] == "read" and first["refresh_token"]

    refreshed = _token(client, {"grant_type": "refresh_token", "refresh_token": str(first["refresh_token"])}, BASIC)
    assert refreshed["access_token"] != first["access_token"]
    again = client.post(
        "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, auth=BASIC
    )
    assert again.json()["error"] == "invalid_grant"  # rotated: the old refresh token is spent

    info = _introspect(client, refreshed["access_token"])
    assert info["active"] is True
    assert (info["client_id"], info["username"], info["scope"]) == (CLIENT_ID, USERNAME, "read")

    revoked = client.post("/oauth/revoke", data={"token": str(refreshed["access_token"])}, auth=BASIC)
    assert revoked.status_code == 200
    assert _introspect(client, refreshed["access_token"]) == {"active": False}


def test_password_and_client_credentials(client: httpx.Client) -> None:
    password = _token(
        client, {"grant_type": "password", "username": USERNAME, "password": PASSWORD, **POST_CREDENTIALS}
    )
    assert _introspect(client, password["access_token"])["username"] == USERNAME

    machine = _token(client, {"grant_type": "client_credentials", "scope": "read write", **POST_CREDENTIALS})
    assert "refresh_token" not in machine
    info = _introspect(client, machine["access_token"])
    assert info["active"] is True and "username" not in info


def test_implicit_puts_the_token_in_the_fragment(client: httpx.Client) -> None:
    redirect = _authorize(client, response_type="token", client_id=CLIENT_ID, scope="write", state="s1")
    assert (redirect["token_type"], redirect["expires_in"], redirect["state"]) == ("Bearer", "3600", "s1")
    assert _introspect(client, redirect["access_token"])["scope"] == "write"


def test_switches_no_metadata_and_no_implicit() -> None:
    """The second interop configuration: no RFC 8414 document, and Authlib refuses response_type=token."""
    with AuthlibServer(metadata=False, implicit=False) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.get("/.well-known/oauth-authorization-server").status_code == 404
        params = {"response_type": "token", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "state": "s1"}
        refused = http.get("/oauth/authorize", params=params)
        location = urlsplit(refused.headers.get("location", ""))
        answer = {k: v[0] for k, v in parse_qs(location.query or location.fragment).items()}
        assert answer.get("error") == "unsupported_response_type", refused.text
        code = http.get("/oauth/authorize", params={**params, "response_type": "code"})
        assert code.status_code == 302 and code.headers["location"].startswith("/login?next=")
