"""CI gating: a baseline's expected failures do not fail the run, a new failure does, stale and
never-run entries are flagged; a selected MUST requirement that did not run fails the run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conformance.model.errors import ConfigError
from conformance.model.spec import load_profiles
from conformance.report.baseline import parse
from conformance.servers import ReferenceServer, reference_config

from .fixtures.report_runs import SuiteRunner

MUTANT = ("--profile", "yixin", "--reference-fault", "yixin:code_reusable")
SELECT = (
    "-k",
    "(SINGLE-USE and not RACE) or BAD-CODE or UNKNOWN-CLIENT",
)  # the race variants are tests/test_races.py's


def write_baseline(path: Path, entries: list[dict[str, str]]) -> str:
    path.write_text(yaml.safe_dump(entries) if path.suffix != ".json" else json.dumps(entries), encoding="utf-8")
    return str(path)


def test_expected_failure_does_not_fail_the_run(suite_run: SuiteRunner, tmp_path: Path) -> None:
    baseline = write_baseline(
        tmp_path / "baseline.yaml", [{"id": "YX-CODE-SINGLE-USE", "reason": "vendor ticket 123: codes reusable"}]
    )
    run = suite_run(*MUTANT, *SELECT, "--baseline", baseline)
    assert run.ret == 0, run.result.stdout.str()
    run.result.assert_outcomes(passed=2, xfailed=1, deselected=len(load_profiles()["yixin"].requirements) - 3)
    doc = run.certification
    assert doc["gate"]["expected"] == ["YX-CODE-SINGLE-USE"] and doc["gate"]["passed"]
    record = run.record("YX-CODE-SINGLE-USE")
    assert record["verdict"] == "fail" and record["baseline"] == "vendor ticket 123: codes reusable"
    assert doc["verdict"] == "fail", "a baseline gates CI; it does not certify"
    assert 'type="pytest.xfail"' in (run.run_dir / "junit.xml").read_text(encoding="utf-8")


def test_new_failure_still_fails_the_run(suite_run: SuiteRunner, tmp_path: Path) -> None:
    baseline = write_baseline(tmp_path / "baseline.json", [{"id": "YX-BAD-CODE", "reason": "known gap"}])
    run = suite_run(*MUTANT, *SELECT, "--baseline", baseline)
    assert run.ret == 1
    assert run.certification["gate"]["failures"] == ["YX-CODE-SINGLE-USE"]


def test_stale_and_never_run_entries_are_flagged_but_do_not_fail(suite_run: SuiteRunner, tmp_path: Path) -> None:
    baseline = write_baseline(
        tmp_path / "baseline.yaml",
        [
            {"id": "YX-BAD-CODE", "reason": "was broken in 1.2"},
            {"id": "YX-EXPIRES-IN-SECONDS", "reason": "deselected below"},
            {"id": "EV-CODE-SINGLE-USE", "reason": "another profile"},
        ],
    )
    run = suite_run("--profile", "yixin", *SELECT, "--baseline", baseline)
    assert run.ret == 0
    gate = run.certification["gate"]
    assert gate["stale"] == ["YX-BAD-CODE"]
    assert sorted(gate["never_ran"]) == ["EV-CODE-SINGLE-USE", "YX-EXPIRES-IN-SECONDS"]
    run.result.stdout.fnmatch_lines(
        ["STALE baseline entries*: YX-BAD-CODE", "baseline entries that never ran*EV-CODE-SINGLE-USE*"]
    )


@pytest.mark.parametrize("certify", [False, True], ids=["default", "certify"])
def test_must_requirement_not_run_is_incomplete_and_fails_only_when_certifying(
    suite_run: SuiteRunner, tmp_path: Path, certify: bool
) -> None:
    """No code_url (and no way to get a code): the code requirements cannot run. The certification
    is incomplete and says so loudly; as in pytest, a skip fails the run only in certification mode."""
    with ReferenceServer(["yixin"]) as server:
        config = {k: v for k, v in reference_config("yixin", server.url("yixin")).items() if k != "code_url"}
        path = tmp_path / "target.yaml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        flags = ["--certify"] if certify else []
        run = suite_run("--target-config", str(path), *SELECT, *flags, server=server)
    assert run.ret == (1 if certify else 0)
    gate = run.certification["gate"]
    assert "YX-CODE-SINGLE-USE" in gate["must_not_run"] and not gate["failures"]
    assert run.record("YX-CODE-SINGLE-USE")["verdict"] == "not run"
    assert run.certification["verdict"] == "incomplete"
    run.result.stdout.fnmatch_lines(["MUST requirements selected but not decided*YX-CODE-SINGLE-USE*"])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"id": "YX-BAD-CODE"}, "list of"),
        ([{"id": "YX-BAD-CODE"}], "exactly the keys"),
        ([{"id": "YX-BAD-CODE", "reason": " "}], "non-empty reason"),
        ([{"id": "YX-NOPE", "reason": "typo"}], "not a requirement"),
        ([{"id": "YX-BAD-CODE", "reason": "a"}, {"id": "YX-BAD-CODE", "reason": "b"}], "listed twice"),
    ],
)
def test_malformed_baseline_is_a_config_error(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse(data, "baseline.yaml", {"YX-BAD-CODE"})


def test_unreadable_baseline_is_a_usage_error(suite_run: SuiteRunner, tmp_path: Path) -> None:
    run = suite_run("--profile", "yixin", "--baseline", str(tmp_path / "missing.yaml"))
    assert run.ret == 4
    run.result.stderr.fnmatch_lines(["*baseline*cannot be read*"])
    assert not run.run_dir.exists()
