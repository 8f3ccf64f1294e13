"""Masking values and sanitizing what the target sent (issue 21), piece by piece: the masker, the
sanitizers, the renderings that use them, the config's refusal of short secrets, and the parsed
safety pass over other plugins' files."""

from __future__ import annotations

import base64
import json
import secrets
import time
from pathlib import Path
from urllib.parse import quote, quote_plus
from xml.etree import ElementTree

import pytest

from conformance.model import config as config_module
from conformance.model.errors import ConfigError
from conformance.model.exchange import Exchange
from conformance.model.masking import MIN_SUBSTRING, Masker
from conformance.model.sanitize import cut, has_unsafe, json_text, one_line, visible, xml_text
from conformance.report.scrub import Scrubber
from conformance.servers import PROFILES, reference_config

SECRET = "s3cret-Value/+1"
ESC_SEQUENCES = "\x1b]0;title\x07\x1b[2J\x1b]8;;http://e/\x1b\\x\x1b]52;c;aGk=\x07\x9b2J\x85\x7f\x00\u202e\u2066\ud800"


def test_a_value_is_masked_wherever_it_occurs_in_every_spelling() -> None:
    masker = Masker()
    masker.register(SECRET, "secret", pin=True)
    spellings = [SECRET, quote(SECRET, safe=""), quote_plus(SECRET), json.dumps(SECRET)[1:-1]]
    text = " ".join(f"({s}.)x{s}y" for s in spellings)
    masked = masker.mask(text)
    assert "s3cret" not in masked and masked.count("‹secret#1›") == 2 * len(spellings)


def test_the_longest_value_wins_where_values_overlap() -> None:
    masker = Masker()
    masker.register("abcdefgh", "short")
    masker.register("abcdefgh-and-more", "long")
    assert masker.mask("[abcdefgh-and-more] [abcdefgh]") == "[‹long#1›] [‹short#1›]"


def test_values_too_short_to_mask_are_masked_only_where_named() -> None:
    masker = Masker()
    for word in ("pass", "name", '"'):
        masker.register(word, "access_token")
    text = 'pass name "x" access_token=pass {"access_token": "\\"", "n": "name"} password'
    assert masker.mask(text) == (
        'pass name "x" access_token=‹access_token› {"access_token": "‹access_token›", "n": "name"} password'
    )
    assert len("secret-1") == MIN_SUBSTRING, "the reference servers' secret is just long enough"


def test_an_authorization_header_never_shows_its_credentials() -> None:
    masker = Masker()
    assert masker.mask_credentials("Bearer pass") == "Bearer ‹credentials›"
    masker.register(base64.b64encode(b"app-1:secret-1").decode(), "basic_credentials")
    assert masker.mask_credentials("Basic " + base64.b64encode(b"app-1:secret-1").decode()) == (
        "Basic ‹basic_credentials#1›"
    )


def test_masking_stays_fast_with_thousands_of_values() -> None:
    masker = Masker()
    values = [secrets.token_urlsafe(18) for _ in range(3000)]
    started = time.monotonic()
    for value in values:  # as a run does: learn a token, then render something
        masker.register(value, "access_token")
        masker.mask(f"issued {value}")
    text = " ".join(f"x{v}." for v in values[::3]) * 4
    masked = masker.mask(text)
    assert time.monotonic() - started < 10
    assert not any(v in masked for v in values)


def test_a_text_without_any_secret_builds_no_pattern_and_one_with_a_secret_is_masked() -> None:
    """The prefilter (PREFILTER_UP_TO) skips the patterns only where no spelling can start: at every
    offset, in every spelling, at the very start and end of a text, the secret is still masked."""
    masker = Masker()
    value = "tok/en+" + secrets.token_hex(8)
    masker.register(value, "access_token")
    assert masker.mask("the target refused the replayed code (HTTP 400)") == (
        "the target refused the replayed code (HTTP 400)"
    )
    assert masker._levels == []  # nothing was compiled for a clean text
    for spelling in (value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]):
        for text in (spelling, f"x{spelling}", f"{spelling}.", f"got «{spelling}» back"):
            assert spelling not in masker.mask(text) and "‹access_token#1›" in masker.mask(text)


def test_the_registry_stays_bounded_and_keeps_pinned_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Masker, "LIMIT", 50)
    masker = Masker()
    masker.register(SECRET, "secret", pin=True)
    issued = [secrets.token_urlsafe(12) for _ in range(200)]
    for value in issued:
        masker.register(value, "code")
    assert len(masker._values) == 50
    assert "‹secret#1›" in masker.mask(SECRET) and issued[-1] not in masker.mask(issued[-1])


def test_a_body_is_masked_before_it_is_cut() -> None:
    """A secret straddling the cut (of the client's kept bytes or of the rendering) never shows a prefix."""
    masker = Masker()
    masker.register(SECRET, "secret")
    rendered_cut = Exchange(1, "POST", "http://t/x", {}, "", 200, {}, "a" * 1995 + SECRET + "b" * 50)
    assert "s3cr" not in rendered_cut.render(masker) and "characters cut]" in rendered_cut.render(masker)
    kept_cut = Exchange(1, "POST", "http://t/x", {}, "", 200, {}, "a" * 100 + SECRET[:6], body_cut=True)
    assert "s3cr" not in kept_cut.render(masker, body_limit=10_000)
    assert "s3cr" not in kept_cut.masked(masker).response_body


def test_renderings_show_controls_escaped() -> None:
    exchange = Exchange(1, "GET", "http://t/x", {}, "", 302, {"location": "javascript:" + ESC_SEQUENCES}, ESC_SEQUENCES)
    for text in (exchange.render(Masker()), exchange.curl(Masker())):
        assert not has_unsafe(text.replace("\n", "")), text
    assert "\\x1b]52;c;" in exchange.render(Masker())


def test_the_sanitizers() -> None:
    assert visible("a\tb\nc\x1b[2J\x9b\u202e\ud800") == "a\tb\nc\\x1b[2J\\x9b\\u202e\\ud800"
    assert one_line("a\nb\tc") == "a\\x0ab\\x09c"
    assert xml_text("a\x00b\x1bc\ud800\n") == "a\\x00b\\x1bc\\ud800\n"
    assert json_text("ok\ud800") == "ok\\ud800" and json_text("‹x›\x1b") == "‹x›\x1b"
    assert cut("x" * 10, 4) == "xxxx… [6 more characters cut]" and cut("xy", 4) == "xy"
    assert cut("ab‹code#1›cd", 5) == "ab… [10 more characters cut]"
    ElementTree.fromstring(f"<a b='{xml_text(ESC_SEQUENCES)}'>{xml_text(ESC_SEQUENCES)}</a>")


@pytest.mark.parametrize("key", ["client_secret", "password"])
def test_a_secret_too_short_to_mask_is_refused_in_one_line(key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        config_module.from_mapping({"profile": "yixin", key: "pass"}, "cfg.yaml")
    message = str(raised.value)
    assert "\n" not in message and key in message and "pass" not in message.replace("password", "")
    assert f"at least {MIN_SUBSTRING}" in message


def test_a_short_second_client_secret_is_refused_too() -> None:
    with pytest.raises(ConfigError, match=r"clients\.second\.client_secret"):
        config_module.from_mapping(
            {"profile": "yixin", "clients": {"second": {"client_id": "b", "client_secret": "x"}}}
        )


@pytest.mark.parametrize("profile", PROFILES)
def test_the_reference_configs_still_load(profile: str) -> None:
    config = config_module.from_mapping(reference_config(profile, "http://127.0.0.1:1"), "reference config")
    assert all(len(secret) >= MIN_SUBSTRING for secret in config.secrets())


# -- the parsed safety pass over other plugins' files --------------------------------------------
REPORT_WORDS = ("testcase", "</style>", "severity", "critical", "properties")


def _masker_of_report_words() -> Masker:
    masker = Masker()
    masker.register(SECRET, "secret")
    for word in REPORT_WORDS:
        masker.register(word, "access_token")
    return masker


def test_junit_is_masked_parsed_never_as_text(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="1">'
        f'<testcase classname="yixin" name="YX-1"><failure message="got {SECRET}.">echo {SECRET}, testcase'
        '</failure><properties><property name="reason" value="x testcase"/></properties></testcase>'
        "</testsuite></testsuites>",
        encoding="utf-8",
    )
    Scrubber(_masker_of_report_words()).junit(path)
    tree = ElementTree.parse(path)
    (case,) = tree.iter("testcase")
    failure = case.find("failure")
    assert failure is not None and SECRET not in (failure.get("message") or "") + (failure.text or "")
    assert "‹access_token#1›" in (failure.text or "") and case.get("name") == "YX-1"


def test_allure_results_are_masked_in_their_free_text_only(tmp_path: Path) -> None:
    result = {
        "name": "YX-1",
        "status": "failed",
        "statusDetails": {"message": f"got {SECRET}", "trace": "properties critical"},
        "labels": [{"name": "severity", "value": "critical"}],
        "steps": [{"name": "step", "statusDetails": {"message": SECRET}}],
    }
    path = tmp_path / "x-result.json"
    path.write_text(json.dumps(result), encoding="utf-8")
    Scrubber(_masker_of_report_words()).allure(tmp_path)
    masked = json.loads(path.read_text(encoding="utf-8"))
    assert masked["labels"] == result["labels"] and masked["status"] == "failed"
    assert SECRET not in json.dumps(masked) and "‹access_token#" in masked["statusDetails"]["trace"]


def test_report_data_masks_values_never_keys() -> None:
    masker = _masker_of_report_words()
    masker.register("verdicts", "access_token")
    doc = {"verdicts": "pass", "reason": f"echo {SECRET} verdicts", "command": ["--x", SECRET]}
    masked = Scrubber(masker).fields(doc, {"reason", "command"})
    assert set(masked) == set(doc) and masked["verdicts"] == "pass"
    assert SECRET not in json.dumps(masked) and "‹access_token#" in masked["reason"]
