"""`diff` between runs (a regression exits non-zero) and `report` re-rendering summary.html."""

from __future__ import annotations

import io
import json

import pytest

from conformance.report.diff import compare, diff_runs
from conformance.tools.cli import main

from .fixtures.report_runs import SuiteRunner

SELECT = ("--profile", "yixin", "-k", "(SINGLE-USE and not RACE) or BAD-CODE")


def test_diff_reports_a_regression_between_reference_and_mutant(suite_run: SuiteRunner) -> None:
    reference = suite_run(*SELECT, run_id="a-reference")
    mutant = suite_run(*SELECT, "--reference-fault", "yixin:code_reusable", run_id="b-mutant")
    out = io.StringIO()
    assert diff_runs(reference.run_dir, mutant.run_dir, out) == 1
    text = out.getvalue()
    assert "regressed: 1" in text and "improved: 0" in text
    assert "YX-CODE-SINGLE-USE" in text and "pass -> fail" in text
    back = io.StringIO()
    assert diff_runs(mutant.run_dir / "certification.json", reference.run_dir, back) == 0
    assert "improved: 1" in back.getvalue() and "fail -> pass" in back.getvalue()


def test_diff_ranks_verdicts() -> None:
    def doc(**verdicts: str) -> dict:
        records = [
            {"id": rid, "profile": "p", "level": "MUST", "verdict": v.replace("_", " "), "reason": ""}
            for rid, v in verdicts.items()
        ]
        return {"requirements": records}

    a = doc(A="pass", B="pass", C="fail", D="fail", E="warning", F="pass")
    b = doc(A="not_run", B="warning", C="error", D="not_run", E="pass", G="pass")
    result = compare(a, b)  # type: ignore[arg-type]
    assert [c.id for c in result.regressed] == ["A", "B"]
    assert [c.id for c in result.improved] == ["D", "E"]
    assert [c.id for c in result.changed] == ["C"]
    assert (result.only_a, result.only_b) == (["F"], ["G"])


def test_cli_diff_and_report(suite_run: SuiteRunner, capsys: pytest.CaptureFixture[str]) -> None:
    reference = suite_run(*SELECT, run_id="a")
    mutant = suite_run(*SELECT, "--reference-fault", "yixin:code_reusable", run_id="b")
    capsys.readouterr()
    assert main(["diff", str(reference.run_dir), str(mutant.run_dir)]) == 1
    assert "YX-CODE-SINGLE-USE" in capsys.readouterr().out
    summary = mutant.run_dir / "summary.html"
    original = summary.read_text(encoding="utf-8")
    summary.unlink()
    assert main(["report", str(mutant.run_dir)]) == 0
    assert summary.read_text(encoding="utf-8") == original
    assert main(["report", str(mutant.run_dir / "evidence")]) == 4
    assert "no certification.json" in capsys.readouterr().err


def test_report_rejects_a_foreign_json(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "certification.json").write_text(json.dumps({"hello": 1}), encoding="utf-8")
    assert main(["report", str(tmp_path)]) == 4
    assert "not an oauth2-conformance certification" in capsys.readouterr().err
