"""summary.html: one self-contained file for looking, not reading. What headless Chromium shows of
it: the verdict and totals, why requirements did not run, the findings first, the filters (driven
through the URL fragment, the same code path as the controls) and a finding's masked exchanges
and curl reproduction in place. The screenshot filtered to failures is kept as a test artefact
(in the test's tmp dir and in reports/screenshots/, which git ignores)."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import shutil
from pathlib import Path

from conformance.engine.verdicts import DESELECTED
from conformance.model.spec import load_profiles
from conformance.report.html import trace_counts
from conformance.report.trace import matrix

from .fixtures.browser import Chromium
from .fixtures.report_runs import SuiteRunner

SCREENSHOTS = Path(__file__).resolve().parent.parent / "reports" / "screenshots"
PNG = b"\x89PNG\r\n\x1a\n"
ROW = re.compile(r'<tr data-requirement="([^"]+)" data-verdict="([^"]+)"[^>]*?( hidden="")?>')


def visible(dom: str) -> dict[str, str]:
    return {rid: verdict for rid, verdict, hidden in ROW.findall(dom) if not hidden}


def test_summary_is_self_contained(suite_run: SuiteRunner) -> None:
    run = suite_run("--profile", "yixin", "-k", "SINGLE-USE", "--reference-fault", "yixin:code_reusable")
    page = (run.run_dir / "summary.html").read_text(encoding="utf-8")
    assert "<link" not in page and "src=" not in page and "@import" not in page and "url(" not in page
    assert re.findall(r"<script[^>]*>", page) == ["<script>"]  # one inline script, nothing fetched
    script = page.split("<script>", 1)[1].split("</script>", 1)[0]
    assert not re.search(r"https?:|fetch\(|XMLHttpRequest|import\(", script)
    assert {href for href in re.findall(r'href="([^"]*)"', page) if not href.startswith("#")} == set()
    # Why requirements did not run: the deselected ones, grouped, with what would run them.
    reasons = re.search(r'<table class="reasons" id="reasons">(.*?)</table>', page, re.S)
    assert reasons is not None
    assert html.escape(DESELECTED) in reasons.group(1)
    assert "<code>the -k / -m / --deselect selection (or the other --shard runs)</code>" in reasons.group(1)
    # The traceability matrix, from the spec: collapsed, one row per normative line of the document.
    counts = trace_counts(matrix(load_profiles()["yixin"]))
    summary = (
        f"Traceability: {counts['normative']} normative lines, covered {counts['covered']}, "
        f"not testable {counts['not testable']}</summary>"
    )
    trace = re.search(r'<details class="trace" id="trace-yixin"><summary>(.*?)</details>', page, re.S)
    assert trace is not None and summary in trace.group(1)
    assert counts["normative"] > 0 and counts["uncovered"] == 0
    assert len(re.findall(r"<tr data-line=", trace.group(1))) == counts["normative"]
    single_use = re.search(r'<tr data-line="35" data-trace="covered">.*?</tr>', trace.group(1))
    assert single_use is not None and "YX-CODE-SINGLE-USE" in single_use.group(0)
    assert '<tr data-line="94" data-trace="not-testable">' in trace.group(1)


def test_summary_in_headless_chromium(suite_run: SuiteRunner, chromium: Chromium, tmp_path: Path) -> None:
    run = suite_run("--profile", "yixin", "--reference-fault", "yixin:code_reusable")
    page = run.run_dir / "summary.html"
    verdicts = {r["id"]: r["verdict"] for r in run.certification["requirements"]}
    findings = {rid: v for rid, v in verdicts.items() if v in {"fail", "error", "warning"}}
    assert verdicts["YX-CODE-SINGLE-USE"] == "fail"

    # It opens on the failures and warnings; every requirement is in the one table, findings first.
    dom = chromium.dump_dom(page)
    assert re.search(r'id="overall">Overall: <span class="badge v-fail">not certified</span>', dom)
    assert re.search(r'<tr data-profile="yixin">.*?not certified', dom)
    rows = ROW.findall(dom)
    assert {rid: verdict for rid, verdict, _ in rows} == verdicts
    assert [v for _, v, _ in rows[: len(findings)]] == sorted(findings.values(), key=["fail", "error", "warning"].index)
    assert visible(dom) == findings
    assert f"{len(findings)} of {len(verdicts)} requirements shown" in dom

    # The finding's exchanges and curl reproduction expand in place, secrets masked.
    row = re.search(r'<tr data-requirement="YX-CODE-SINGLE-USE".*?</tr>', dom, re.S)
    assert row is not None
    assert "<details><summary>Exchanges (" in row.group(0) and "‹code#" in row.group(0)
    assert "<details><summary>Reproduce (curl)</summary><pre>" in row.group(0)
    assert "secret-1" not in dom

    # The filters: verdict, level, profile, search by ID or text.
    assert visible(chromium.dump_dom(page, "verdict=all")) == verdicts
    assert visible(chromium.dump_dom(page, "verdict=pass")) == {k: v for k, v in verdicts.items() if v == "pass"}
    for query in ("YX-CODE-SINGLE-USE", "single-use"):  # by ID, by text (the reasons included)
        expected = {
            r["id"]
            for r in run.certification["requirements"]
            if query.lower() in " ".join((r["id"], r["text"], r["reason"])).lower()
        }
        assert "YX-CODE-SINGLE-USE" in expected and len(expected) < len(verdicts)
        assert set(visible(chromium.dump_dom(page, f"verdict=all&q={query}"))) == expected
    should = {r["id"] for r in run.certification["requirements"] if r["level"] == "SHOULD"}
    assert set(visible(chromium.dump_dom(page, "verdict=all&level=SHOULD"))) == should
    failures = {k: v for k, v in verdicts.items() if v == "fail"}
    assert visible(chromium.dump_dom(page, "verdict=fail&profile=yixin")) == failures

    shot = chromium.screenshot(page, tmp_path / "summary.png", size="1280,1100", fragment="verdict=fail")
    assert shot.read_bytes().startswith(PNG) and shot.stat().st_size > 10_000
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, SCREENSHOTS / "summary-yixin-mutant-failures.png")


def test_the_content_security_policy_allows_only_the_reports_own_script(
    suite_run: SuiteRunner, chromium: Chromium, tmp_path: Path
) -> None:
    """summary.html carries a CSP that allows its own style and script by SHA-256, nothing else. A
    copy of the page with raw markup a hostile target might have slipped in (were escaping ever to
    fail): the injected script and handler do not run; the page's own script does."""
    run = suite_run("--profile", "yixin", "-k", "SINGLE-USE")
    page = (run.run_dir / "summary.html").read_text(encoding="utf-8")
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page)
    assert policy is not None and page.index(policy.group(0)) < page.index("<style>") < page.index("<script>")
    script = page.split("<script>", 1)[1].split("</script>", 1)[0]
    style = page.split("<style>", 1)[1].split("</style>", 1)[0]
    for source, directive in ((script, "script-src"), (style, "style-src")):
        digest = base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii")
        assert f"{directive} 'sha256-{digest}'" in policy.group(1)
    assert "default-src 'none'" in policy.group(1) and "unsafe-inline" not in policy.group(1)

    injected = '<script>document.title=\'pwned\'</script><img src="data:," onerror="document.body.dataset.pwned=1">'
    hostile = tmp_path / "summary.html"
    hostile.write_text(page.replace("<h1>", injected + "<h1>", 1), encoding="utf-8")
    dom = chromium.dump_dom(hostile, "verdict=all")
    assert "pwned" not in dom.split("<body", 1)[1].split(">", 1)[0] and "<title>pwned" not in dom
    assert "requirements shown" in dom  # the report's own script ran under the policy
