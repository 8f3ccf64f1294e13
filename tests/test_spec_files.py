"""A new dialect is one file: specs added beside the built-in ones (`--spec`, the ini option, the
environment variable), typos refused with their place, integer error codes.

The extra spec of these tests is the yixin spec under another profile name, so the yixin reference
server can answer for it."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import httpx
import pytest

from conformance.checks.options import Credential, OptionError, Refusal, build
from conformance.model.config import TargetConfig
from conformance.model.errors import MissingPrerequisite, SpecError
from conformance.model.exchange import Exchange
from conformance.model.predicate import Predicate
from conformance.model.roles import ROLES, TRANSFORM_NAMES
from conformance.model.spec import SPECS_ENV, ErrorDialect, load_profile, load_profiles, spec_dir
from conformance.servers import PROFILES, ReferenceServer, reference_config
from conformance.target.client import Reply
from conformance.target.outcome import classify
from conformance.target.request_builder import TRANSFORMS, fill
from conformance.target.tokens import Tokens
from conformance.tools.cli import main

YIXIN = (spec_dir() / "yixin.yaml").read_text(encoding="utf-8")


def renamed(tmp_path: Path, name: str = "yixin2", prefix: str = "YX2") -> Path:
    """The yixin spec as a new profile `name` (ids `prefix-...`), in its own file."""
    text = YIXIN.replace("  profile: yixin\n", f"  profile: {name}\n").replace(
        "  id_prefix: YX\n", f"  id_prefix: {prefix}\n"
    )
    text = re.sub(r"\bid: YX-", f"id: {prefix}-", text)
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def broken(tmp_path: Path, old: str, new: str) -> Path:
    assert old in YIXIN
    path = tmp_path / "yixin.yaml"
    path.write_text(YIXIN.replace(old, new, 1), encoding="utf-8")
    return path


def line_of(path: Path, fragment: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if fragment in line)


# -- typos are errors, with their place ------------------------------------------------------------
def test_a_misspelt_role_is_refused_with_file_line_and_the_known_roles(tmp_path: Path) -> None:
    path = broken(tmp_path, "x-role: client_id,", "x-role: client-id,")
    with pytest.raises(SpecError) as caught:
        load_profile(path)
    message = str(caught.value)
    assert f"spec {path}, line {line_of(path, 'client-id')}, column " in message
    assert "unknown x-role 'client-id'" in message and all(role in message for role in ROLES)


def test_an_unknown_transform_is_refused(tmp_path: Path) -> None:
    spec = spec_dir() / "usercenter.yaml"
    text = spec.read_text(encoding="utf-8").replace("x-transform: md5-hex", "x-transform: md5", 1)
    path = tmp_path / "usercenter.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match=r"line \d+, column \d+: unknown x-transform 'md5' \(known transforms: md5-hex"):
        load_profile(path)


def test_an_unknown_x_key_is_refused_at_the_key(tmp_path: Path) -> None:
    path = broken(tmp_path, "x-role: client_id, x-line: 45", "x-role: client_id, x-lnie: 45")
    with pytest.raises(SpecError) as caught:
        load_profile(path)
    line = line_of(path, "x-lnie")
    column = path.read_text(encoding="utf-8").splitlines()[line - 1].index("x-lnie") + 1
    assert f", line {line}, column {column}: unknown key 'x-lnie' (known x- keys: x-conformance" in str(caught.value)


def test_a_field_named_like_an_extension_is_a_name_not_a_typo(tmp_path: Path) -> None:
    """Under `properties` (and `headers`) keys are the document's names: `x-request-id` is a field."""
    path = broken(
        tmp_path,
        "                client_id: {type: string",
        "                x-request-id: {type: string}\n                client_id: {type: string",
    )
    assert load_profile(path).name == "yixin"


def test_a_yaml_syntax_error_gives_file_line_and_column(tmp_path: Path) -> None:
    path = broken(tmp_path, "  id_prefix: YX\n", "  id_prefix: [YX\n")
    with pytest.raises(SpecError) as caught:
        load_profile(path)
    message = str(caught.value)
    assert re.search(rf"spec {re.escape(str(path))} is not valid YAML at line \d+, column \d+: ", message), message
    assert "\n" not in message


def test_the_model_and_the_request_builder_know_the_same_transforms() -> None:
    assert set(TRANSFORMS) == set(TRANSFORM_NAMES)


# -- specs beside the built-in ones ----------------------------------------------------------------
def test_an_extra_spec_is_added_beside_the_built_in_ones(tmp_path: Path) -> None:
    profiles = load_profiles([renamed(tmp_path)])
    assert set(profiles) == {*PROFILES, "yixin2"}
    assert profiles["yixin2"].requirements[0].id.startswith("YX2-")


def test_the_environment_variable_adds_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    renamed(tmp_path)
    monkeypatch.setenv(SPECS_ENV, str(tmp_path))
    assert set(load_profiles()) == {*PROFILES, "yixin2"}


def test_an_extra_spec_may_not_take_a_built_in_profile_name(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"defines profile 'yixin', as .*yixin\.yaml does"):
        load_profiles([broken(tmp_path, "x-line: 45", "x-line: 46")])


def test_a_missing_extra_spec_is_one_line() -> None:
    with pytest.raises(SpecError, match=r"spec nope\.yaml does not exist"):
        load_profiles(["nope.yaml"])


def test_profiles_lists_the_extra_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles", "--spec", str(renamed(tmp_path))]) == 0
    assert re.search(r"^yixin2\s", capsys.readouterr().out, re.M)


def _config(pytester: pytest.Pytester, url: str) -> None:
    raw = {k: v for k, v in reference_config("yixin", url).items() if k not in {"profile", "target"}}
    pytester.makefile(".yaml", cfg=json.dumps(raw))  # JSON is YAML


def test_the_run_takes_a_spec_from_the_command_line(pytester: pytest.Pytester, reference: ReferenceServer) -> None:
    url = reference.url("yixin")
    _config(pytester, url)
    spec = renamed(pytester.path)
    result = pytester.runpytest_subprocess(
        "-q", f"--spec={spec.name}", f"--target={url}", "--profile=yixin2", "--target-config=cfg.yaml", timeout=120
    )
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines([f"*{len(load_profiles([spec])['yixin2'].requirements)} pass*"])


def test_the_ini_option_adds_specs_and_two_equal_matches_stop_the_run(
    pytester: pytest.Pytester, reference: ReferenceServer
) -> None:
    """The ini's spec answers at yixin's URL exactly as yixin does: without --profile the run cannot choose."""
    url = reference.url("yixin")
    _config(pytester, url)
    (pytester.path / "specs").mkdir()
    renamed(pytester.path / "specs")
    pytester.makeini("[pytest]\nconformance_specs = specs\n")
    result = pytester.runpytest_subprocess("-q", f"--target={url}", "--target-config=cfg.yaml", timeout=120)
    assert result.ret == 4
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1 and "match" in errors[0] and "--profile=yixin or --profile=yixin2" in errors[0], errors


def test_an_added_spec_without_a_reference_server_needs_a_target(pytester: pytest.Pytester) -> None:
    spec = renamed(pytester.path)
    result = pytester.runpytest_subprocess("-q", f"--spec={spec.name}", "--profile=yixin2", timeout=120)
    assert result.ret == 4
    assert "profile 'yixin2' has no embedded reference server; give its server with --target=URL" in result.stderr.str()


# -- error codes: strings or integers --------------------------------------------------------------
def test_expect_error_takes_strings_and_integers() -> None:
    assert build(Refusal, {"expect_error": [40029, "invalid_grant"]}).expect_error == (40029, "invalid_grant")
    with pytest.raises(OptionError):
        build(Refusal, {"expect_error": [True]})


def test_an_integer_error_code_is_read_as_a_code() -> None:
    """WeChat-style: HTTP 200, `errcode` an integer."""
    yixin = load_profiles()["yixin"]
    dialect = ErrorDialect(
        pointer="/errcode", equals=None, code="/errcode", status=(), codes={40029: 12}, when=Predicate("/errcode")
    )
    profile = dataclasses.replace(yixin, error=dialect)
    flow = profile.flows[profile.token_source or ""]
    body = json.dumps({"errcode": 40029, "errmsg": "invalid code"}).encode()
    reply = Reply(
        200, httpx.Headers({"content-type": "application/json"}), body, False, Exchange(1, "GET", "t", {}, "")
    )
    outcome = classify(profile, flow, reply)
    assert outcome.error and not outcome.success and outcome.error_code == 40029
    assert outcome.describe(reply) == "error 40029 (HTTP 200)"


# -- error and success predicates, per profile and per flow ----------------------------------------
def _wechat(tmp_path: Path) -> Path:
    """The yixin spec in a WeChat-like dialect: every answer HTTP 200, an integer `errcode` that flags
    an error when present and not 0; the refresh flow's success carries `errcode: 0`."""
    path = renamed(tmp_path, "wechatlike", "WX")
    text = path.read_text(encoding="utf-8")
    flagged = "  error:\n    pointer: /error\n    code: /error\n"
    assert flagged in text
    text = text.replace(flagged, "  error:\n    pointer: /errcode\n    not_equals: 0\n    code: /errcode\n", 1)
    text = text.replace(
        "  flows:\n    exchange_code:\n",
        "  flows:\n    exchange_code:\n      success: {pointer: /errcode, absent: true}\n",
        1,
    )
    path.write_text(text, encoding="utf-8")
    return path


def _answer(body: object) -> Reply:
    headers = httpx.Headers({"content-type": "application/json"})
    return Reply(200, headers, json.dumps(body).encode(), False, Exchange(1, "GET", "t", {}, ""))


def test_an_error_is_present_and_not_zero(tmp_path: Path) -> None:
    profile = load_profile(_wechat(tmp_path))
    refresh = next(f for f in profile.flows.values() if f.name != "exchange_code")
    ok = classify(profile, refresh, _answer({"errcode": 0, "errmsg": "ok", "access_token": "t", "refresh_token": "r"}))
    assert ok.success and not ok.error
    bad = classify(profile, refresh, _answer({"errcode": 40030, "errmsg": "invalid refresh_token"}))
    assert bad.error and not bad.success and bad.error_code == 40030
    odd = classify(profile, refresh, _answer({"errcode": False, "access_token": "t"}))
    assert odd.error and odd.error_code is None  # false is not 0 (kinds are compared), and it is no code


def test_a_flow_states_its_own_success(tmp_path: Path) -> None:
    profile = load_profile(_wechat(tmp_path))
    exchange = profile.flows["exchange_code"]
    assert exchange.success_when is not None and exchange.success_when.absent
    assert classify(profile, exchange, _answer({"access_token": "t", "refresh_token": "r"})).success
    # errcode 0 is no error by the profile's predicate, but this flow's success says errcode is absent
    assert not classify(profile, exchange, _answer({"errcode": 0, "access_token": "t"})).success


def test_a_predicate_with_an_unknown_key_is_refused(tmp_path: Path) -> None:
    path = _wechat(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace("not_equals: 0", "not_equal: 0"), encoding="utf-8")
    with pytest.raises(SpecError, match="error: unknown key 'not_equal'"):
        load_profile(path)


def test_a_flow_states_its_own_error_status(tmp_path: Path) -> None:
    """A page whose refusals the document leaves unsaid, in a dialect whose interfaces answer errors
    HTTP 200: `error: {status: []}` on the flow says so; other flows keep the profile's."""
    path = _wechat(tmp_path)
    text = path.read_text(encoding="utf-8").replace("    status: []   # unsaid\n", "    status: [200]\n", 1)
    text = text.replace("      success: {pointer: /errcode, absent: true}\n", "      error: {status: [400, 401]}\n", 1)
    path.write_text(text, encoding="utf-8")
    profile = load_profile(path)
    assert profile.error_status(profile.flows["exchange_code"]) == (400, 401)
    assert profile.error_status(profile.flows["refresh"]) == (200,)
    path.write_text(text.replace("error: {status: [400, 401]}", "error: {status: 400}"), encoding="utf-8")
    with pytest.raises(SpecError, match=r"flow exchange_code: error\.status must be a list of HTTP statuses"):
        load_profile(path)


def test_a_misspelt_role_option_is_refused() -> None:
    """bad_credential's `role: client-secret` would find no parameter and quietly not run."""
    assert build(Credential, {"role": "client_secret"}).role == "client_secret"
    with pytest.raises(OptionError, match=r"option 'role' must be an x-role .*got 'client-secret'"):
        build(Credential, {"role": "client-secret"})
    # a value carried from the token answer is a credential too (wechatweb's openid gets 40003)
    assert build(Credential, {"role": "from-token-response /openid"}).role == "from-token-response /openid"


# -- a value carried from the token answer ---------------------------------------------------------
def test_a_role_takes_a_field_of_the_token_answer(tmp_path: Path) -> None:
    """WeChat's openid: `x-role: from-token-response /openid` sends what the answer that issued the
    tokens in hand said, and a spec may say so."""
    path = broken(tmp_path, "x-role: refresh_token,", "x-role: from-token-response /openid,")
    profile = load_profile(path)
    refresh = profile.flows["refresh"]
    param = next(p for p in refresh.operation.params.values() if p.role == "from-token-response /openid")
    reply = _answer({"access_token": "t", "refresh_token": "r", "openid": "o-123"})
    tokens = Tokens("t", "r", reply, "exchange_code")
    config = TargetConfig()

    def value(of: Tokens) -> object:
        return fill(refresh, param, config=config, client={}, tokens=of, new_code=lambda: "", token_source=None)

    assert value(tokens) == "o-123"
    with pytest.raises(MissingPrerequisite, match="exchange_code's answer has no /openid"):
        value(Tokens("t", "r", _answer({"access_token": "t"}), "exchange_code"))


@pytest.mark.parametrize("role", ["from-token-response", "from-token-response openid", "from-token-reponse /openid"])
def test_a_carried_role_needs_its_pointer(tmp_path: Path, role: str) -> None:
    with pytest.raises(SpecError, match=r"unknown x-role .*from-token-response /POINTER"):
        load_profile(broken(tmp_path, "x-role: refresh_token,", f"x-role: {role},"))
