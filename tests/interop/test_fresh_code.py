"""fresh_code.py, the interop code_command, against the Authlib server: the JSON it prints is the
code and the request it sent, the code is good for a token, and each way of getting no code ends
with exit 1 and one line on stderr (never a traceback, never a code it did not get)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from . import fresh_code
from .authlib_server import CLIENT_ID, CLIENT_SECRET, PASSWORD, REDIRECT_URI, USERNAME, AuthlibServer

pytestmark = pytest.mark.slow  # each test starts a real OAuth2 server (no suite run)

WANTED = {
    "OAUTH2_RESPONSE_TYPE": "code",
    "OAUTH2_CLIENT_ID": CLIENT_ID,
    "OAUTH2_REDIRECT_URI": REDIRECT_URI,
    "OAUTH2_SCOPE": "read",
    "OAUTH2_STATE": "st-1",
}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[AuthlibServer]:
    for name, value in WANTED.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FRESH_CODE_PASSWORD", PASSWORD)
    with AuthlibServer() as running:
        yield running


def _run(server: AuthlibServer, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = fresh_code.main([server.url + "/oauth/authorize", "--username", USERNAME])
    out, err = capsys.readouterr()
    return status, out, err


def test_prints_the_code_and_the_request_it_sent(server: AuthlibServer, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _run(server, capsys)
    assert (status, err) == (0, "")
    printed = json.loads(out)
    assert {k: v for k, v in printed.items() if k != "code"} == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "read",
        "state": "st-1",
    }
    data = {"grant_type": "authorization_code", "code": printed["code"], "redirect_uri": REDIRECT_URI}
    answer = httpx.post(server.url + "/oauth/token", data=data, auth=(CLIENT_ID, CLIENT_SECRET), timeout=5)
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "read"


def test_logs_the_parameter_names(
    server: AuthlibServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    log = tmp_path / "log"
    monkeypatch.setenv("FRESH_CODE_LOG", str(log))
    monkeypatch.setenv("OAUTH2_CODE_CHALLENGE", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    monkeypatch.setenv("OAUTH2_CODE_CHALLENGE_METHOD", "S256")
    assert _run(server, capsys)[0] == 0
    assert json.loads(log.read_text()) == sorted(
        ["code_challenge", "code_challenge_method", *(k[len("OAUTH2_") :].lower() for k in WANTED)]
    )


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"OAUTH2_SCOPE": "bogus"}, "refused the authorization request"),  # Authlib: invalid_scope
        ({"OAUTH2_CLIENT_ID": "nobody"}, "not a login or consent page"),  # no redirect for an unknown client
        ({"FRESH_CODE_PASSWORD": "not-the-password"}, "not a login or consent page"),  # login answers 401
        ({"FRESH_CODE_PASSWORD": ""}, "set FRESH_CODE_PASSWORD"),
    ],
)
def test_no_code_is_exit_1_and_one_line(
    server: AuthlibServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    said: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    status, out, err = _run(server, capsys)
    assert status == 1
    assert said in err and err.count("\n") == 1, err
    if "refused" in said:  # the contract's refusal on stdout, read by the suite as the endpoint's own
        assert json.loads(out)["error"] == "invalid_scope"
    else:
        assert out == ""
