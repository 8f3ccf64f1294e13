"""certification.json: a mutant's failing requirement and a fail verdict; a reference pass; no
false greens for requirements no test reached; the run directory's layout."""

from __future__ import annotations

import json
import re

from conformance.engine.verdicts import DESELECTED, NEVER_COLLECTED, STOPPED, ItemTrace
from conformance.model.spec import load_profiles
from conformance.report.certification import outcome

from .fixtures.report_runs import SuiteRunner

MUTANT = ("--profile", "yixin", "--reference-fault", "yixin:code_reusable")


def test_mutant_run_fails_on_its_requirement(suite_run: SuiteRunner) -> None:
    run = suite_run(*MUTANT)
    assert run.ret == 1
    doc = run.certification
    failing = {r["id"] for r in doc["requirements"] if r["verdict"] == "fail"}
    assert "YX-CODE-SINGLE-USE" in failing
    assert doc["verdict"] == "fail" and doc["certified"] is False
    assert doc["profiles"][0]["faults"] == ["code_reusable"]
    record = run.record("YX-CODE-SINGLE-USE")
    assert record["decided_by"] == ["yixin::YX-CODE-SINGLE-USE"]
    assert record["blocking"] and record["exchanges"] >= 2
    evidence = (run.run_dir / record["evidence"]).read_text(encoding="utf-8")
    assert "YX-CODE-SINGLE-USE" in evidence and "‹code#" in evidence
    assert (run.run_dir / record["reproduce"]).read_text(encoding="utf-8").startswith("#!/bin/sh")
    assert "YX-CODE-SINGLE-USE" in doc["gate"]["failures"] and doc["gate"]["exit_status"] == 1


def test_reference_run_passes_and_writes_every_report(suite_run: SuiteRunner) -> None:
    run = suite_run("--profile", "yixin")
    assert run.ret == 0, run.result.stdout.str()
    doc = run.certification
    assert doc["verdict"] == "pass" and doc["certified"] is True
    assert set(run.verdicts().values()) == {"pass"}
    profile = doc["profiles"][0]
    yixin = load_profiles()["yixin"]
    assert len(doc["requirements"]) == len(yixin.requirements)
    assert len(profile["spec_sha256"]) == 64 and profile["spec_file"] == "yixin.yaml"
    assert doc["target"] == "embedded reference servers"
    assert doc["suite"]["version"] and doc["started"] <= doc["finished"]
    assert profile["config"]["client_id"] == "app-1" and "secret-1" not in str(profile["config"])
    names = {p.name for p in run.files()}
    assert {"junit.xml", "certification.json", "summary.html"} <= names
    results = [json.loads(p.read_text()) for p in (run.run_dir / "allure-results").glob("*-result.json")]
    advice = next(r for r in results if r["name"] == "YX-ERROR-STATUS")
    labels = {label["name"]: label["value"] for label in advice["labels"]}
    assert (labels["epic"], labels["story"], labels["severity"]) == ("yixin", "YX-ERROR-STATUS", "normal")
    assert advice["links"][0]["url"] == "https://www.rfc-editor.org/rfc/rfc6749#section-5.2"
    run.result.stdout.fnmatch_lines(["*conformance report*", "yixin*certified*", "reports: *run*"])


def test_default_run_id_is_sortable_by_time(pytester) -> None:
    result = pytester.runpytest_inprocess("--profile", "yixin", "-k", "YX-BAD-CODE")
    assert result.ret == 0
    (run_dir,) = (pytester.path / "reports").iterdir()
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{4}", run_dir.name)


def test_unreached_requirements_are_not_run_never_pass(suite_run: SuiteRunner) -> None:
    """-k deselects all but one: the rest are `not run` with the reason, and nothing is certified;
    deselection is the user's choice, so it does not fail the exit status."""
    run = suite_run("--profile", "yixin", "-k", "YX-BAD-CODE")
    assert run.ret == 0
    doc = run.certification
    assert run.verdicts()["YX-BAD-CODE"] == "pass"
    others = [r for r in doc["requirements"] if r["id"] != "YX-BAD-CODE"]
    assert others and {r["verdict"] for r in others} == {"not run"}
    assert {r["reason"] for r in others} == {DESELECTED}
    assert doc["verdict"] == "incomplete" and doc["certified"] is False


def test_outcome_without_verdict_is_not_a_pass() -> None:
    """A requirement whose item never ran gets its verdict from `absent`, the engine's constructor."""
    r = load_profiles()["yixin"].requirements[0]
    assert outcome(r, None, ItemTrace()) == ("not run", NEVER_COLLECTED)
    assert outcome(r, None, ItemTrace(["n"])) == ("not run", STOPPED)
    assert outcome(r, None, ItemTrace(["n"], ran=True, skip_reason="no clock")) == ("not run", "skipped: no clock")
    assert outcome(r, None, ItemTrace(["n"], ran=True, error="setup failed: boom")) == ("error", "setup failed: boom")


def test_reused_run_id_is_a_usage_error(suite_run: SuiteRunner) -> None:
    assert suite_run("--profile", "yixin", "-k", "YX-BAD-CODE", run_id="same").ret == 0
    again = suite_run("--profile", "yixin", "-k", "YX-BAD-CODE", run_id="same")
    assert again.ret == 4
    again.result.stderr.fnmatch_lines(["*already holds a run*"])


def test_paths_the_user_gives_win(suite_run: SuiteRunner, tmp_path) -> None:
    junit, allure = tmp_path / "mine.xml", tmp_path / "allure"
    run = suite_run(*MUTANT, "-k", "SINGLE-USE", f"--junitxml={junit}", f"--alluredir={allure}")
    assert run.ret == 1
    assert run.certification["outputs"] == {"junit": str(junit), "allure": str(allure)}
    assert junit.is_file() and list(allure.glob("*-result.json"))
    assert not (run.run_dir / "junit.xml").exists() and not (run.run_dir / "allure-results").exists()
    assert "secret-1" not in junit.read_text(encoding="utf-8")
