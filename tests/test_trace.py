"""The traceability matrix: every line a spec marks normative maps to a requirement, or says why not."""

from __future__ import annotations

import pytest
import yaml

from conformance.model.spec import line_numbers, load_profile, load_profiles, spec_dir
from conformance.report.trace import (
    dialects_dir,
    document_path,
    levels,
    matrix,
    normative_lines,
    not_testable,
    render,
    seeds_dir,
)

DOCUMENT_PROFILES = [name for name, p in load_profiles().items() if p.document.endswith(".txt")]


@pytest.mark.parametrize("name", DOCUMENT_PROFILES)
def test_every_normative_line_has_a_requirement_or_a_reason(name: str) -> None:
    profile = load_profiles()[name]
    uncovered = [row.line for row in matrix(profile) if row.normative and row.status == "uncovered"]
    assert not uncovered, f"{name}: normative lines without a requirement or a not_testable reason: {uncovered}"


@pytest.mark.parametrize("name", DOCUMENT_PROFILES)
def test_every_document_profile_marks_its_normative_lines(name: str) -> None:
    profile = load_profiles()[name]
    assert "traceability" in profile.raw["x-conformance"], f"{name}: no x-conformance.traceability block"
    normative = set(normative_lines(profile))
    assert normative, f"{name}: the traceability block marks no normative line"
    stray = sorted(set(not_testable(profile)) - normative)
    assert not stray, f"{name}: not_testable lines that are not marked normative: {stray}"


def test_a_document_is_found_among_the_seeds_or_the_project_s_own_dialects() -> None:
    """The five vendor documents are seeds; a dialect the project wrote itself lives in docs/dialects/."""
    profiles = load_profiles()
    assert document_path(profiles["wechatweb"]) == dialects_dir() / "wechatweb.txt"
    seeds = seeds_dir()
    if seeds is None:
        pytest.skip("the seeds are not at hand (set OAUTH2_CONFORMANCE_SEEDS)")
    for name in ("everydo", "usercenter", "yixin", "ekuaibao", "generic"):
        assert document_path(profiles[name]) == seeds / profiles[name].document, name


def test_a_flow_s_lines_are_decided_by_its_response_requirement() -> None:
    profile = load_profiles()["yixin"]
    assert {41, 55, 56, 57} <= set(profile.requirement("YX-EXCHANGE-CODE-RESPONSE").lines)


def test_an_uncovered_normative_line_is_reported(tmp_path) -> None:
    raw = yaml.safe_load((spec_dir() / "yixin.yaml").read_text(encoding="utf-8"))
    raw["x-conformance"]["traceability"] = {"normative": ["35", "3-4"], "not_testable": {4: "prose only"}}
    path = tmp_path / "yixin.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    rows = {row.line: row for row in matrix(load_profile(path))}
    assert rows[35].status == "covered" and "YX-CODE-SINGLE-USE" in rows[35].requirements
    assert rows[3].status == "uncovered" and rows[4].status == "not testable"
    assert "NOT COVERED" in render(load_profile(path))


def test_line_numbers() -> None:
    assert line_numbers(35, "77, 87-88", None, "RFC 6749 §4.1") == (35, 77, 87, 88)


def test_trace_shows_each_requirement_s_line_wording_and_level() -> None:
    """`trace` says why each requirement has its level: the line, its wording, the level chosen."""
    rows = {row.requirement: row for row in levels(load_profiles()["ekuaibao"])}
    single = rows["EK-VERIFY-CODE-SINGLE-USE"]
    assert (single.level, single.line) == ("MUST", 15) and "只能" in single.wording
    assert rows["EK-CORPORATION-ID-STABLE"].level == "SHOULD"
    assert rows["EK-CORPORATION-ID-STABLE"].wording == "an example only"
    assert "RFC-derived" in rows["EK-OLD-REFRESH-REJECTED"].wording
    text = render(load_profiles()["usercenter"])
    assert "UC-REFRESH-NEW-ACCESS-TOKEN" in text.split("levels:")[1]
    assert "RFC-derived" in [line for line in text.splitlines() if "UC-REFRESH-NEW-ACCESS-TOKEN" in line][-1]
