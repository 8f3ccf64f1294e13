"""Lifetimes and tolerances (issue 20, item 3): the allowance is relative to the lifetime it is about,
a spec can state its own where its document justifies it, and a credential refused just before its
lifetime ends fails only when a fresh one, obtained the same way, is accepted at once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from conformance.checks.base import CheckContext
from conformance.checks.expiry import died_early
from conformance.checks.options import Lifetime, OptionError, build
from conformance.engine.plan import bind, plan
from conformance.model.errors import PreconditionFailed, SpecError
from conformance.model.spec import load_profile, load_profiles, spec_dir
from conformance.model.tolerance import DEFAULT, MAX_S, MIN_S, Tolerance, ToleranceError, parse
from conformance.model.violation import Violation
from conformance.target.client import Reply

from .fixtures.reference import Harness

# -- Tolerance: the value --------------------------------------------------------------------------


def test_the_default_is_two_percent_of_the_lifetime() -> None:
    assert DEFAULT.of(7200) == pytest.approx(144)
    assert DEFAULT.of(2_592_000 / 30) == pytest.approx(1728)


def test_the_default_is_at_least_the_floor() -> None:
    """Below 250 s, 2 % is under the clocks' and round trips' 5 s: the floor holds (a 60 s code: 5 s)."""
    assert DEFAULT.of(60) == MIN_S == 5
    assert DEFAULT.of(0) == MIN_S
    assert DEFAULT.of(-30) == MIN_S  # a lifetime already past: its sign is ignored


def test_the_default_is_at_most_an_hour() -> None:
    """A 32-day lifetime would get 15 h: past an hour off an expiry is worth finding whatever the lifetime."""
    assert DEFAULT.of(32 * 86400) == MAX_S == 3600


def test_explicit_seconds_ignore_the_lifetime() -> None:
    tolerance = Tolerance(seconds=86400, line=37)
    assert tolerance.of(60) == tolerance.of(32 * 86400) == 86400
    assert tolerance.explicit and not DEFAULT.explicit


def test_an_explicit_fraction_keeps_the_floor_but_has_no_ceiling() -> None:
    tolerance = Tolerance(fraction=0.1, line=12)
    assert tolerance.of(1000) == pytest.approx(100)
    assert tolerance.of(10) == MIN_S
    assert tolerance.of(10 * 86400) == pytest.approx(86400)  # justified by its line: no one-hour cap


def test_describe_names_the_allowance_and_its_line() -> None:
    assert Tolerance(seconds=60, line=22).describe(300) == "±60 s (stated, line 22)"
    assert DEFAULT.describe(7200).startswith("±144 s (2% of the lifetime")


@pytest.mark.parametrize(
    ("kwargs", "wanted"),
    [
        ({"seconds": 60, "fraction": 0.1}, "not both"),
        ({"seconds": -1}, "0 or more"),
        ({"fraction": 1.5}, "below 1"),
        ({"fraction": -0.1}, "at least 0"),
    ],
)
def test_an_impossible_value_is_refused(kwargs: dict[str, Any], wanted: str) -> None:
    with pytest.raises(ToleranceError, match=wanted):
        Tolerance(**kwargs)


# -- Tolerance: what a spec writes -----------------------------------------------------------------


def test_parse_takes_seconds_or_fraction_with_a_line() -> None:
    assert parse({"seconds": 86400, "line": 37}) == Tolerance(seconds=86400.0, line=37)
    assert parse({"fraction": 0.05}) == Tolerance(fraction=0.05)
    assert parse({"seconds": 60, "line": "RFC 6749 §4.1.2"}).line == "RFC 6749 §4.1.2"


@pytest.mark.parametrize(
    ("raw", "wanted"),
    [
        (600, "must be {seconds: N} or {fraction: F}"),
        ({"second": 600}, "unknown key 'second'"),
        ({"line": 37}, "must set seconds or fraction"),
        ({"seconds": "a day"}, "seconds must be a number"),
        ({"seconds": True}, "seconds must be a number"),
        ({"seconds": 1, "line": [1]}, "line must be a document line"),
        ({"seconds": 1, "fraction": 0.1}, "not both"),
    ],
)
def test_parse_refuses_a_malformed_value_naming_where(raw: Any, wanted: str) -> None:
    with pytest.raises(ToleranceError) as excinfo:
        parse(raw, "x-conformance.expiry_tolerance")
    assert wanted in str(excinfo.value)
    assert str(excinfo.value).startswith("x-conformance.expiry_tolerance")


def test_the_specs_state_their_tolerances() -> None:
    """Ekuaibao counts expiries in days (line 37); wechatweb's refresh token lives 30 days (line 46) and
    its code 5 minutes (line 22); its access token's 7200 s (line 42) keeps the default."""
    profiles = load_profiles()
    assert profiles["ekuaibao"].expiry_tolerance == Tolerance(seconds=86400, line=37)
    assert profiles["wechatweb"].expiry_tolerance is None
    wechat = profiles["wechatweb"]
    refresh = bind(wechat.requirement("WW-REFRESH-TOKEN-LIFETIME")).options
    assert refresh.tolerance == Tolerance(seconds=86400, line=46)
    assert bind(wechat.requirement("WW-CODE-EXPIRES")).options.tolerance == Tolerance(seconds=60, line=22)
    assert bind(wechat.requirement("WW-ACCESS-TOKEN-LIFETIME")).options.tolerance is None


def test_the_tolerance_option_is_built_and_checked() -> None:
    options = build(Lifetime, {"seconds": 300, "tolerance": {"fraction": 0.1, "line": 22}})
    assert options.tolerance == Tolerance(fraction=0.1, line=22)
    with pytest.raises(OptionError, match="option 'tolerance': unknown key 'secs'"):
        build(Lifetime, {"seconds": 300, "tolerance": {"secs": 60}})


def _broken_spec(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = (spec_dir() / name).read_text(encoding="utf-8")
    assert old in text
    broken = tmp_path / name
    broken.write_text(text.replace(old, new, 1), encoding="utf-8")
    return broken


def test_a_malformed_profile_tolerance_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    broken = _broken_spec(tmp_path, "ekuaibao.yaml", "expiry_tolerance: {seconds: 86400", "expiry_tolerance: {days: 1")
    with pytest.raises(SpecError) as excinfo:
        load_profile(broken)
    message = str(excinfo.value)
    assert "ekuaibao.yaml" in message and "x-conformance.expiry_tolerance" in message and "'days'" in message


def test_a_malformed_requirement_tolerance_is_refused_naming_the_requirement(tmp_path: Path) -> None:
    broken = _broken_spec(tmp_path, "wechatweb.yaml", "tolerance: {seconds: 86400, line: 46}", "tolerance: 86400")
    with pytest.raises(SpecError) as excinfo:
        plan([load_profile(broken)])
    message = str(excinfo.value)
    assert "WW-REFRESH-TOKEN-LIFETIME" in message and "option 'tolerance'" in message


# -- A credential that dies early ------------------------------------------------------------------


class _Context:
    """What died_early uses of a CheckContext: fail (the violation carrying the evidence)."""

    requirement = load_profiles()["wechatweb"].requirement("WW-CODE-EXPIRES")

    def fail(self, message: str) -> Violation:
        return Violation(self.requirement, message, [])


def _reply(status: int) -> Reply:
    return Reply(status, httpx.Headers(), b"{}", False, cast(Any, None))


def _judge(refused: Reply, retry: Callable[[], tuple[bool, Reply | None]]) -> None:
    died_early(cast(CheckContext, _Context()), "a code used 240 s into its 300 s lifetime", refused, retry)


def test_a_fresh_credential_accepted_at_once_means_the_first_died_early() -> None:
    with pytest.raises(Violation) as excinfo:
        _judge(_reply(400), lambda: (True, _reply(200)))
    assert "died early" in str(excinfo.value)


def test_a_fresh_credential_refused_too_leaves_it_undecided() -> None:
    with pytest.raises(PreconditionFailed, match="so was a fresh one"):
        _judge(_reply(400), lambda: (False, _reply(400)))


@pytest.mark.parametrize("status", [429, 503])
def test_a_busy_target_leaves_it_undecided(status: int) -> None:
    def never() -> tuple[bool, Reply | None]:
        raise AssertionError("a busy answer says nothing of the lifetime: no fresh credential is needed")

    with pytest.raises(PreconditionFailed, match=f"HTTP {status}"):
        _judge(_reply(status), never)
    with pytest.raises(PreconditionFailed, match=f"fresh one got HTTP {status}"):
        _judge(_reply(400), lambda: (False, _reply(status)))


def test_a_refused_grant_leaves_it_undecided() -> None:
    def refused_grant() -> tuple[bool, Reply | None]:
        raise PreconditionFailed("getting tokens from exchange_code did not succeed")

    with pytest.raises(PreconditionFailed, match="getting tokens"):
        _judge(_reply(400), refused_grant)


def test_early_death_fails_with_both_exchanges_as_evidence(harness: Harness) -> None:
    """Through a reference server: the early code's refusal (42003) and the fresh code's success are
    both in the evidence."""
    verdict = harness.run("wechatweb", {"code_dies_early"}, only={"WW-CODE-EXPIRES"})["WW-CODE-EXPIRES"]
    assert verdict.status == "fail" and "died early" in verdict.reason
    assert verdict.violation is not None
    bodies = [exchange.response_body for exchange in verdict.violation.exchanges]
    assert any("42003" in body for body in bodies)
    assert any('"access_token"' in body for body in bodies)


def test_a_code_refused_and_a_fresh_one_too_is_not_run(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """A code refused just before its lifetime ends, with the fresh one refused as well, is not run:
    nothing says the first code died early (here every code issued once time has moved is spent)."""
    state = harness.server.states["wechatweb"]
    issue, advance = state.issue, state.clock.advance
    moved: list[float] = []

    def advance_and_note(seconds: float) -> None:
        moved.append(seconds)
        advance(seconds)

    def issue_spent(kind: str, lifetime: float | None, prefix: str = "", **data: Any) -> str:
        value = issue(kind, lifetime, prefix, **data)
        if kind == "code" and moved:
            state.grants[value].used = True
        return value

    monkeypatch.setattr(state.clock, "advance", advance_and_note)
    monkeypatch.setattr(state, "issue", issue_spent)
    verdict = harness.run("wechatweb", {"code_dies_early"}, only={"WW-CODE-EXPIRES"})["WW-CODE-EXPIRES"]
    assert verdict.status == "not run", verdict.reason
    assert "so was a fresh one" in verdict.reason


def test_a_code_ended_by_the_next_one_is_not_run(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """A target may end an unused code once the next one is issued (as verify codes often are). The
    check issues its two codes together, so the first is refused however long it lives; the fresh
    one is issued the same way (another after it) and is refused too: not run, never 'died early'."""
    state = harness.server.states["wechatweb"]
    issue = state.issue
    unused: list[str] = []

    def issue_ending_the_previous(kind: str, lifetime: float | None, prefix: str = "", **data: Any) -> str:
        value = issue(kind, lifetime, prefix, **data)
        if kind == "code":
            for earlier in unused:
                state.grants[earlier].used = True
            unused[:] = [value]
        return value

    monkeypatch.setattr(state, "issue", issue_ending_the_previous)
    verdict = harness.run("wechatweb", set(), only={"WW-CODE-EXPIRES"})["WW-CODE-EXPIRES"]
    assert verdict.status == "not run", verdict.reason
    assert "so was a fresh one" in verdict.reason
