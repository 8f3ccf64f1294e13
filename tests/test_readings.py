"""Where a document can be read two ways, a server following either reading passes: each reading
fault of a reference server leaves its whole profile without a failure, and warns only where the
spec says the choice is reported. Also the config keys issue 11 added (token_probe, transforms)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from conformance.engine.plan import bind
from conformance.engine.verdicts import decide
from conformance.model import config as config_module
from conformance.model.errors import ConfigError
from conformance.model.masking import Masker
from conformance.model.spec import load_profiles
from conformance.servers import PROFILES, reference_config
from conformance.servers.registry import load
from conformance.target.client import TargetClient
from conformance.target.session import OMIT, ProfileSession
from conformance.target.validation import ResponseValidator

from .fixtures.reference import Harness

# (profile, reading faults, the requirements that report the reading as a warning)
SPELLING = {"UC-CHECK-TOKEN-SPELLING", "UC-GET-USER-SPELLING", "UC-TEMP-TOKEN-SPELLING"}
READINGS: list[tuple[str, frozenset[str], set[str]]] = [
    ("usercenter", frozenset({"table_spelling_only"}), SPELLING),
    ("usercenter", frozenset({"check_status_1_negative"}), set()),
    # A server that reads only the table's access_token and answers a token it never read status 1, "invalid".
    ("usercenter", frozenset({"table_spelling_only", "check_status_1_negative"}), SPELLING),
    ("usercenter", frozenset({"destroy_revokes_all"}), set()),
    ("usercenter", frozenset({"refusal_http_401"}), set()),
    ("usercenter", frozenset({"refusal_http_401", "check_status_1_negative", "destroy_revokes_all"}), set()),
    ("yixin", frozenset({"wrong_secret_invalid_request"}), set()),
    ("generic", frozenset({"implicit_in_query"}), {"GN-IMPLICIT-FRAGMENT"}),
    ("generic", frozenset({"wrong_response_type_error_answer"}), set()),
    ("generic", frozenset({"implicit_in_query", "wrong_response_type_error_answer"}), {"GN-IMPLICIT-FRAGMENT"}),
    ("ekuaibao", frozenset({"expiry_day_boundary"}), set()),
    ("ekuaibao", frozenset({"feature_expires_soon"}), set()),
    ("ekuaibao", frozenset({"expiry_day_boundary", "feature_expires_soon"}), set()),
    ("wechatweb", frozenset({"wrong_secret_40001"}), set()),
    ("wechatweb", frozenset({"expiry_whole_minutes"}), set()),
]


@pytest.mark.parametrize(
    ("profile", "faults", "warned"),
    READINGS,
    ids=lambda v: "+".join(sorted(v)) if isinstance(v, frozenset | set) else str(v),
)
def test_either_reading_passes(harness: Harness, profile: str, faults: frozenset[str], warned: set[str]) -> None:
    verdicts = harness.run(profile, faults)
    others = {rid: (v.status, v.reason) for rid, v in verdicts.items() if v.status != "pass" and rid not in warned}
    assert others == {}
    assert {rid for rid in warned if verdicts[rid].status == "warning"} == warned


def test_every_reading_switch_is_run(reference: Any) -> None:
    """Each server's READINGS (faults that are readings the document allows) has a whole-profile run above."""
    declared = {(p, f) for p in PROFILES for f in getattr(load(p), "READINGS", ())}
    assert declared - {(p, f) for p, faults, _ in READINGS for f in faults} == set()


def test_spelling_warning_names_both_spellings(harness: Harness) -> None:
    verdict = harness.run("usercenter", {"table_spelling_only"}, only={"UC-CHECK-TOKEN-SPELLING"})
    reason = verdict["UC-CHECK-TOKEN-SPELLING"].reason
    assert "'access_token'" in reason and "'accessToken'" in reason


def _session(harness: Harness, profile: str, **overrides: object) -> tuple[ProfileSession, ResponseValidator]:
    url = harness.server.url(profile)
    raw = {**reference_config(profile, url), **overrides}
    config = config_module.from_mapping({k: v for k, v in raw.items() if v is not None})
    spec = load_profiles()[profile]
    return ProfileSession(spec, config, url, TargetClient(config), Masker()), ResponseValidator(spec, url)


def test_token_probe_rules_not_run_without_token_probe(harness: Harness) -> None:
    harness.server.states["yixin"].reset()
    session, validator = _session(harness, "yixin", token_probe=None)
    spec = session.profile
    try:
        probes = (
            "YX-PROBE-UNKNOWN-TOKEN",
            "YX-PROBE-EXPIRED-TOKEN",
            "YX-PROBE-ACCEPTS-TOKEN",
            "YX-PROBE-ACCEPTS-REFRESHED",
        )
        for rid in ("YX-NEW-CODE-ENDS-TOKENS", "YX-TOKEN-EXPIRES", *probes):
            verdict = decide(bind(spec.requirement(rid)), session, validator)
            assert verdict.status == "not run", (rid, verdict.status)
            assert "token_probe" in verdict.reason
    finally:
        session.client.close()


def test_token_probe_by_query(harness: Harness) -> None:
    """send: query puts the token in the URL (RFC 6750 §2.3); a probe that cannot see it is not run."""
    session, validator = _session(harness, "yixin", token_probe={"url": "/_test/resource", "send": "query"})
    try:
        verdict = decide(bind(session.profile.requirement("YX-NEW-CODE-ENDS-TOKENS")), session, validator)
        assert verdict.status == "not run"  # the reference resource reads the header only
        assert "token_probe does not accept a fresh access token" in verdict.reason
    finally:
        session.client.close()


def test_token_probe_config() -> None:
    config = config_module.from_mapping(
        {"profile": "yixin", "token_probe": {"url": "https://api.example/me", "valid_status": 204, "method": "post"}}
    )
    assert config.token_probe is not None
    assert (config.token_probe.method, config.token_probe.valid_status) == ("POST", (204,))
    assert json.dumps(config.masked()["token_probe"])
    for bad in ({"method": "GET"}, {"url": "/x", "send": "cookie"}, {"url": "/x", "valid_status": "ok"}, "/x"):
        with pytest.raises(ConfigError, match="token_probe"):
            config_module.from_mapping({"profile": "yixin", "token_probe": bad})


def test_transforms_config_changes_what_is_sent(harness: Harness) -> None:
    with pytest.raises(ConfigError, match="transforms"):
        config_module.from_mapping({"profile": "usercenter", "transforms": {"shapassword": "sha3"}})
    session, _ = _session(harness, "usercenter", transforms={"shapassword": "sha256-hex"})
    try:
        reply = session.call("token_by_password")
        sent = json.loads(reply.exchange.request_body)
        assert sent["shapassword"] == hashlib.sha256(b"wonderland").hexdigest()
    finally:
        session.client.close()


def test_configured_scope_is_sent_by_every_flow_that_accepts_it(harness: Harness) -> None:
    """Issue 17: the authorization request carries the configured scope (an OpenID provider refuses
    one without `openid`), and so do the grants that take one; a check may still leave it out."""
    session, _ = _session(harness, "rfc6749")
    try:
        code = session.new_code()
        assert session.code_origins[code].params.get("scope") == "read write"
        session.call("password")
        assert session.last_sent.get("scope") == "read write"
        session.call("password", {"scope": OMIT})
        assert "scope" not in session.last_sent
        session.call("exchange_code")  # RFC 6749 §4.1.3 takes no scope
        assert "scope" not in session.last_sent
    finally:
        session.client.close()
