"""Unit tests for pieces otherwise exercised only end to end: JSON pointers, reply classification,
the masker and login form parsing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import pytest

from conformance.model import config as config_module
from conformance.model.exchange import Exchange
from conformance.model.masking import Masker
from conformance.model.pointer import MISSING, resolve
from conformance.model.spec import load_profiles
from conformance.target.client import Reply
from conformance.target.code_source import AuthorizationRefused, CodeSource, parse_code
from conformance.target.login import forms
from conformance.target.outcome import classify


# -- JSON pointers ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("document", "pointer", "expected"),
    [
        ({"a": {"b": 1}}, "/a/b", 1),
        ({"a": [10, 20]}, "/a/1", 20),
        ({"a/b": 1, "m~n": 2}, "/a~1b", 1),
        ({"a/b": 1, "m~n": 2}, "/m~0n", 2),
        ({"a": 1}, "", {"a": 1}),
        ({"result": json.dumps({"accessToken": "t"})}, "/result/accessToken", "t"),  # JSON inside a string
        ({"a": 0}, "/a", 0),  # a falsy value is still a value
        ({"a": None}, "/a", None),
    ],
)
def test_pointer_resolves(document, pointer, expected) -> None:
    assert resolve(document, pointer) == expected


@pytest.mark.parametrize(
    ("document", "pointer"),
    [({"a": 1}, "/b"), ({"a": [1]}, "/a/5"), ({"a": [1]}, "/a/x"), ({"result": "not json"}, "/result/x"), (None, "/a")],
)
def test_pointer_missing(document, pointer) -> None:
    assert resolve(document, pointer) is MISSING


# -- reply classification --------------------------------------------------------------------
def _reply(status: int, body: object = None, headers: dict[str, str] | None = None) -> Reply:
    raw = b"" if body is None else json.dumps(body).encode()
    kind = {"content-type": "application/json"} if body is not None else {}
    exchange = Exchange(1, "POST", "http://t/x", {}, "")
    return Reply(status, httpx.Headers({**kind, **(headers or {})}), raw, False, exchange)


def test_rfc_success_and_error() -> None:
    profile = load_profiles()["rfc6749"]
    flow = profile.flows[profile.token_source or ""]
    pointer = flow.issues["access_token"].lstrip("/")
    ok = classify(profile, flow, _reply(200, {pointer: "tok", "token_type": "Bearer"}))
    assert ok.success and not ok.error
    bad = classify(profile, flow, _reply(400, {"error": "invalid_grant"}))
    assert not bad.success and bad.error and bad.error_code == "invalid_grant"


def test_success_status_without_the_token_is_not_a_success() -> None:
    profile = load_profiles()["rfc6749"]
    flow = profile.flows[profile.token_source or ""]
    assert not classify(profile, flow, _reply(200, {"hello": "world"})).success


def test_usercenter_status_flag_decides() -> None:
    """UserCenter flags errors in the body (status 0) with HTTP 200."""
    profile = load_profiles()["usercenter"]
    assert profile.error is not None and profile.error.pointer
    flow = next(f for f in profile.flows.values() if f.issues.get("access_token"))
    error_body = {profile.error.pointer.lstrip("/"): profile.error.equals}
    outcome = classify(profile, flow, _reply(200, error_body))
    assert outcome.error and not outcome.success


def test_redirected_error_is_read_from_the_location() -> None:
    profile = load_profiles()["rfc6749"]
    flow = next(f for f in profile.flows.values() if f.redirect and f.redirect.get("code_param"))
    reply = _reply(302, headers={"location": "https://client.example/cb?error=access_denied&state=s"})
    outcome = classify(profile, flow, reply)
    assert outcome.error and outcome.redirected_error and outcome.error_code == "access_denied"
    code = classify(profile, flow, _reply(302, headers={"location": "https://client.example/cb?code=abc&state=s"}))
    assert code.success


# -- masking ---------------------------------------------------------------------------------
def test_masker_aliases_registered_values_in_every_encoding() -> None:
    masker = Masker()
    masker.register("s3cr3t value/+", "client_secret")
    masker.register("tok_ABC.def-1", "access_token")
    text = 'a=s3cr3t+value%2F%2B b=s3cr3t%20value%2F%2B json="s3cr3t value/+" tok_ABC.def-1 and tok_ABC.def-12'
    masked = masker.mask(text)
    assert "s3cr3t" not in masked
    assert "‹access_token#1›" in masked
    assert "tok_ABC.def-1" not in masked, "a value is masked wherever it occurs, inside a longer word too"


def test_masker_masks_named_fields_it_never_learned() -> None:
    masked = Masker().mask('{"access_token": "never-registered"} refresh_token=abc&x=1&code_verifier=v3rif')
    assert "never-registered" not in masked and "abc" not in masked and "x=1" in masked
    assert "v3rif" not in masked, "a PKCE code_verifier is a secret (RFC 7636 §4.1)"


def test_masker_ignores_values_too_short_to_be_secrets() -> None:
    masker = Masker()
    masker.register("ab", "code")
    assert masker.mask("ab cd") == "ab cd"


# -- login forms -----------------------------------------------------------------------------
def test_login_form_parsing_keeps_hidden_fields_and_skips_buttons() -> None:
    page = """
    <form action="/login?next=1" method="post">
      <input type="hidden" name="csrf" value="tok123">
      <input name="username"><input type="password" name="password">
      <input type="checkbox" name="remember"><input type="checkbox" name="agree" checked value="y">
      <button type="submit" name="go" value="1">Sign in</button>
    </form>
    <form action="/other"><input name="q" value="x"></form>
    """
    first, second = forms(page)
    assert (first.action, first.method) == ("/login?next=1", "POST")
    assert first.fields["csrf"] == "tok123" and first.fields.get("agree") == "y"
    assert "remember" not in first.fields and "go" not in first.fields
    assert {"username", "password", "go"} <= first.names
    assert (second.method, second.fields) == ("GET", {"q": "x"})


def test_login_form_parsing_records_buttons_with_their_labels() -> None:
    page = (
        '<form method="post"><input type="hidden" name="csrf" value="c">'
        '<button type="submit" name="confirm" value="yes">Allow access</button>'
        '<button type="submit" name="confirm" value="no">Deny</button>'
        '<input type="submit" name="other" value="Approve"></form>'
    )
    (form,) = forms(page)
    assert form.buttons == [
        ("confirm", "yes", "yes Allow access"),
        ("confirm", "no", "no Deny"),
        ("other", "Approve", "Approve"),
    ]
    assert "confirm" not in form.fields


@pytest.mark.parametrize(
    ("location", "success"),
    [
        ("https://client.example/cb?code=abc&state=s", True),
        ("https://client.example/cb?state=s&code=abc", True),
        ("https://client.example/response&code=abc", True),  # Everydo's example puts it after '&'
        ("https://client.example/cb?auth_code=abc", False),  # a different parameter
        ("https://client.example/cb?code=", False),  # an empty code
        ("https://client.example/cb#code=abc", False),  # a code flow answers in the query
    ],
)
def test_a_code_redirect_carries_a_parameter_named_exactly_code(location: str, success: bool) -> None:
    profile = load_profiles()["rfc6749"]
    flow = next(f for f in profile.flows.values() if f.redirect and f.redirect.get("code_param") == "code")
    assert classify(profile, flow, _reply(302, headers={"location": location})).success is success


def test_a_code_command_reports_a_refusal_in_the_contracts_json() -> None:
    """{"error": ...} from a code_command is the authorization endpoint's refusal (RFC 6749 §4.1.2.1),
    with its code, as if the suite had been refused there itself; a bare code or a code's JSON is a code."""
    with pytest.raises(AuthorizationRefused) as refused:
        parse_code('{"error": "invalid_request", "error_description": "Code challenge required."}', "code_command")
    assert refused.value.error == "invalid_request"
    assert "Code challenge required." in str(refused.value)
    assert parse_code('{"code": "c-1", "state": "s"}', "code_command")[1].params == {"state": "s"}
    assert parse_code("c-2\n", "code_command")[0] == "c-2"


class _Caller:
    """What a CodeSource asks of its session, for a target that declares PKCE (S256)."""

    def __init__(self, command: str) -> None:
        self.profile = load_profiles()["rfc6749"]
        self.config = config_module.from_mapping({"target": "http://t.invalid", "code_command": command})
        self.masker = Masker()
        self.last_sent: dict[str, object] = {}
        self.last_client_key = None
        self.offered: list[str] = []

    def client_values(self, key: str | None) -> dict[str, str]:
        return {"client_id": "app-1", "redirect_uri": "http://localhost/cb"}

    def pkce_verifier(self, challenge: str) -> str | None:
        return None

    def pkce_parameters(self) -> tuple[dict[str, str], str]:
        self.offered.append(f"challenge-{len(self.offered)}")
        return {"code_challenge": self.offered[-1], "code_challenge_method": "S256"}, f"verifier-{len(self.offered)}"


@pytest.mark.parametrize("speaks_json", [True, False])
def test_a_code_command_is_offered_the_suites_pkce_only_if_it_can_confirm_it(tmp_path: Path, speaks_json: bool) -> None:
    """Where the target declares PKCE, a code_command gets a code_challenge of the suite's choosing,
    and the code's verifier is sent once its JSON confirms that challenge. A bare code cannot say
    whether the challenge was used: that code is dropped and the command is never offered one again."""
    log = tmp_path / "challenges"
    script = tmp_path / "code.py"
    script.write_text(
        "import json, os, sys\n"
        f"open({str(log)!r}, 'a').write(os.environ.get('OAUTH2_CODE_CHALLENGE', '-') + '\\n')\n"
        "challenge = os.environ.get('OAUTH2_CODE_CHALLENGE')\n"
        f"json_code = json.dumps({{'code': 'c-' + str(challenge), 'code_challenge': challenge}})\n"
        f"print(json_code if {speaks_json} else 'bare-' + os.urandom(4).hex())\n",
        encoding="utf-8",
    )
    caller = _Caller(f"{sys.executable} {script}")
    source = CodeSource(caller)  # type: ignore[arg-type]
    first, second = source.new(), source.new()
    origins = source.origins[first], source.origins[second]
    if speaks_json:
        assert log.read_text().split() == ["challenge-0", "challenge-1"]
        assert [o.verifier for o in origins] == ["verifier-1", "verifier-2"]
    else:
        assert log.read_text().split() == ["challenge-0", "-", "-"]  # offered once, then never
        assert [o.verifier for o in origins] == [None, None]
