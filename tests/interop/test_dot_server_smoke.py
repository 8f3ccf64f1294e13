"""Smoke test of the django-oauth-toolkit interop server: it starts, publishes its metadata under
its prefix, sends the authorization request to Django's login page, and issues tokens per grant.

Why: if this fails, a failing DOT interop test says nothing about the suite, only about the server.
"""

from __future__ import annotations

import httpx
import pytest

from tests.interop.dot_server import APPLICATIONS, PASSWORD, REDIRECT_URI, USERNAME, DotServer

pytestmark = pytest.mark.slow  # each test starts a real OAuth2 server (smoke: no suite run)


def test_dot_server_starts_serves_and_stops() -> None:
    with DotServer() as server, httpx.Client(timeout=10) as http:
        meta = http.get(server.issuer + "/.well-known/oauth-authorization-server").json()
        assert meta["issuer"] == server.issuer
        assert meta["token_endpoint"] == server.issuer + "/token/"
        assert "S256" in meta["code_challenge_methods_supported"]

        code_id = APPLICATIONS["authorization_code"][0]
        params = {"response_type": "code", "client_id": code_id, "redirect_uri": REDIRECT_URI}
        start = http.get(meta["authorization_endpoint"], params=params)
        assert start.status_code == 302 and start.headers["location"].startswith("/accounts/login/?next=")

        password_id, password_secret = APPLICATIONS["password"][:2]
        form = {"grant_type": "password", "username": USERNAME, "password": PASSWORD}
        token = http.post(meta["token_endpoint"], data=form, auth=(password_id, password_secret))
        assert token.status_code == 200 and token.json()["refresh_token"], token.text
        # one grant per application: the code application may not use the password grant
        other = http.post(meta["token_endpoint"], data=form, auth=(code_id, APPLICATIONS["authorization_code"][1]))
        assert other.json()["error"] == "unauthorized_client", other.text

        assert server.server_errors() == [], server.log.read_text()
        process = server._process
        assert process is not None
    assert process.poll() is not None, "the DOT server outlived its with block"
