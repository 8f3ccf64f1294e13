"""summary.html: self-contained, and what headless Chromium shows of it: the verdict, totals,
every requirement, and a finding's masked exchanges. The screenshot is kept as a test artefact
(in the test's tmp dir and in reports/screenshots/, which git ignores)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from .fixtures.browser import Chromium
from .fixtures.report_runs import SuiteRunner

SCREENSHOTS = Path(__file__).resolve().parent.parent / "reports" / "screenshots"
PNG = b"\x89PNG\r\n\x1a\n"


def test_summary_is_self_contained(suite_run: SuiteRunner) -> None:
    run = suite_run("--profile", "yixin", "-k", "SINGLE-USE", "--reference-fault", "yixin:code_reusable")
    page = (run.run_dir / "summary.html").read_text(encoding="utf-8")
    assert "<script" not in page and "<link" not in page and "src=" not in page
    assert {href for href in re.findall(r'href="([^"]*)"', page) if not href.startswith("#")} == set()


def test_summary_in_headless_chromium(suite_run: SuiteRunner, chromium: Chromium, tmp_path: Path) -> None:
    run = suite_run("--profile", "yixin", "--reference-fault", "yixin:code_reusable")
    page = run.run_dir / "summary.html"
    dom = chromium.dump_dom(page)
    assert re.search(r'id="overall">Overall: <span class="badge v-fail">not certified</span>', dom)
    assert re.search(r'<tr data-profile="yixin">.*?not certified', dom)
    rows = dict(re.findall(r'<tr data-requirement="([^"]+)" data-verdict="([^"]+)"', dom))
    assert rows == {r["id"]: r["verdict"] for r in run.certification["requirements"]}
    assert rows["YX-CODE-SINGLE-USE"] == "fail"
    finding = re.search(r'<section class="finding v-fail" id="finding-YX-CODE-SINGLE-USE">(.*?)</section>', dom, re.S)
    assert finding is not None
    assert "<details><summary>Exchanges (" in finding.group(1) and "‹code#" in finding.group(1)
    assert "secret-1" not in dom

    shot = chromium.screenshot(page, tmp_path / "summary.png")
    assert shot.read_bytes().startswith(PNG) and shot.stat().st_size > 10_000
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, SCREENSHOTS / "summary-yixin-mutant.png")
