"""A correct server that puts attacker-chosen bytes in its answers (issue 21) cannot leak a
secret, corrupt a report or reach the terminal.

The injecting yixin (conformance/servers/injection.py) answers as the reference server does, but
its JSON carries markup, `javascript:` URLs, ANSI/OSC sequences, controls, a lone surrogate and
echoes of the secret in several spellings, and its access tokens are the report's own words
(`pass`, `fail`, `verdict`, `name`, `testcase`, `</style>`, `"`). Each run has the `code_reusable`
fault on, so a failure writes its evidence (the injected bodies) into every output.
"""

from __future__ import annotations

import base64
import html
import json
import re
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote, quote_plus
from xml.etree import ElementTree

import pytest
import yaml
from starlette.types import ASGIApp

from conformance.checks.base import CheckContext
from conformance.checks.catalog import REGISTRY
from conformance.model.masking import MIN_SUBSTRING
from conformance.servers import ReferenceServer, reference_config
from conformance.servers.base import ServerState
from conformance.servers.injection import REPORT_WORDS, Injecting, InjectingState

from .fixtures.browser import Chromium
from .fixtures.report_runs import SuiteRun, SuiteRunner

CONFIGURED = ("secret-1", "wonderland")
# The start of the client secret, as a cut before masking would leave it: at the end of a line or
# before a cut marker (and never `client_secret-required`).
SECRET_START = re.compile(r"(?<![\w‹])(?:secret-|secr(?:e|et)?(?=$|\n|…))", re.M)
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
FAULT = "code_reusable"


def spellings(value: str) -> set[str]:
    """Every way a secret may be written: as is, URL/form-encoded, JSON-, HTML- and XML-escaped."""
    forms = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1], html.escape(value)}
    return {f for f in forms if f}


def secret_spellings(issued: dict[str, str]) -> dict[str, str]:
    found = {s: f"configured {v[:3]}…" for v in CONFIGURED for s in spellings(v)}
    found[base64.b64encode(b"app-1:secret-1").decode()] = "HTTP Basic app-1:secret-1"
    for value, kind in issued.items():
        if len(value) >= MIN_SUBSTRING and value not in REPORT_WORDS:
            found |= {s: f"issued {kind} {value[:4]}…" for s in spellings(value)}
    return found


def run_yixin(suite_run: SuiteRunner, tmp_path: Path, *, inject: bool, codes: bool = False, run_id: str) -> SuiteRun:
    def injecting(app: ASGIApp, state: ServerState) -> ASGIApp:
        return Injecting(app, state, codes=codes)

    server = (
        ReferenceServer(["yixin"], state_type=InjectingState, wrap=injecting) if inject else ReferenceServer(["yixin"])
    )
    with server:
        server.states["yixin"].set_faults({FAULT})
        url = server.url("yixin")
        config = tmp_path / f"{run_id}.yaml"
        config.write_text(yaml.safe_dump(reference_config("yixin", url)), encoding="utf-8")
        args = ["--target", url, "--target-config", str(config), "--showlocals", "--tb=long", "-rA"]
        return suite_run(*args, run_id=run_id, server=server)


def allure_statuses(run: SuiteRun) -> dict[str, str]:
    statuses = {}
    for path in (run.run_dir / "allure-results").glob("*-result.json"):
        result = json.loads(path.read_text(encoding="utf-8"))
        statuses[result["fullName"]] = result["status"]
    return statuses


def junit_outcomes(run: SuiteRun) -> dict[str, str]:
    outcomes = {}
    for case in ElementTree.parse(run.run_dir / "junit.xml").iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[case.get("name", "")] = kinds[0] if kinds else "passed"
    return outcomes


def assert_nothing_leaks_or_acts(run: SuiteRun, *, suite_bug: bool = False) -> None:
    """No secret under any spelling, no raw control, in any file of the run or in the terminal; no
    traceback but (for a bug of the suite's own) the bug's."""
    secrets = secret_spellings(run.issued)
    output = run.result.stdout.str() + run.result.stderr.str()
    problems = [f"terminal: {what}" for s, what in secrets.items() if s in output]
    problems += [f"terminal: {m!r}" for m in SECRET_START.findall(output)]
    if RAW_CONTROL.search(output):
        problems.append(f"terminal: raw {RAW_CONTROL.findall(output)[:5]}")
    for path in run.files():
        text = path.read_bytes().decode("utf-8", "surrogateescape")
        name = path.relative_to(run.run_dir)
        problems += [f"{name}: {what}" for s, what in secrets.items() if s in text]
        problems += [f"{name}: the start of the secret" for _ in SECRET_START.findall(text)[:1]]
        if RAW_CONTROL.search(text):
            problems.append(f"{name}: raw {RAW_CONTROL.findall(text)[:5]}")
    for word in REPORT_WORDS:  # short tokens are masked where they are named
        for named in (f"access_token={quote_plus(word)}&", f'"access_token": {json.dumps(word)}', f"Bearer {word}\n"):
            problems += [f"{p.name}: {named!r}" for p in run.files() if named in p.read_text("utf-8", "replace")]
    assert not problems, "\n".join(problems)
    assert "INTERNALERROR" not in output
    assert ("Traceback" in output) == suite_bug


@pytest.fixture
def clean_and_hostile(suite_run: SuiteRunner, tmp_path: Path) -> tuple[SuiteRun, SuiteRun]:
    clean = run_yixin(suite_run, tmp_path, inject=False, run_id="clean")
    hostile = run_yixin(suite_run, tmp_path, inject=True, run_id="hostile")
    return clean, hostile


def test_injected_content_changes_no_verdict_and_parses(
    clean_and_hostile: tuple[SuiteRun, SuiteRun],
) -> None:
    clean, hostile = clean_and_hostile
    assert set(hostile.issued) >= set(REPORT_WORDS[:3]), "the server issued the report's words as tokens"
    assert hostile.verdicts() == clean.verdicts()
    assert hostile.verdicts()["YX-CODE-SINGLE-USE"] == "fail"
    doc = hostile.certification
    assert {"verdict", "requirements", "profiles"} <= set(doc) and doc["verdict"] == "fail"
    assert junit_outcomes(hostile) == junit_outcomes(clean)
    assert allure_statuses(hostile) == allure_statuses(clean) and allure_statuses(hostile)
    summary = (hostile.run_dir / "summary.html").read_text(encoding="utf-8")
    assert summary.count('<tr data-requirement="') == len(doc["requirements"])
    assert "<script>document.title" not in summary and "&lt;script&gt;document.title" in summary
    evidence = (hostile.run_dir / hostile.record("YX-CODE-SINGLE-USE")["evidence"]).read_text(encoding="utf-8")
    assert "\\u001b]52;c;" in evidence and "\x1b" not in evidence, "the injected sequences are shown, escaped"
    assert_nothing_leaks_or_acts(hostile)


def test_payload_in_error_codes_reaches_messages_inert(suite_run: SuiteRunner, tmp_path: Path) -> None:
    """Error codes carrying the payload (a lone surrogate included) fail requirements, and their
    messages go everywhere: the run ends normally, every file parses, nothing acts."""
    run = run_yixin(suite_run, tmp_path, inject=True, codes=True, run_id="codes")
    assert run.ret == pytest.ExitCode.TESTS_FAILED
    failed = [r for r in run.certification["requirements"] if r["verdict"] == "fail"]
    assert len(failed) > 5 and any("\\ud800" in r["reason"] for r in failed)
    assert all("\n" not in r["reason"] for r in failed)
    assert junit_outcomes(run) and allure_statuses(run)
    assert not list((run.run_dir / "allure-results").glob("*.tmp"))
    assert_nothing_leaks_or_acts(run)


def test_nothing_from_the_server_runs_in_the_summary(
    clean_and_hostile: tuple[SuiteRun, SuiteRun], chromium: Chromium, tmp_path: Path
) -> None:
    _, hostile = clean_and_hostile
    page = hostile.run_dir / "summary.html"
    opened = tmp_path / "opened.html"  # every exchange and reproduction expanded
    opened.write_text(page.read_text(encoding="utf-8").replace("<details>", "<details open>"), encoding="utf-8")
    for target in (page, opened):
        for fragment in ("", "verdict=all", "verdict=fail", "verdict=all&q=script", "verdict=all&level=MUST"):
            dom = chromium.dump_dom(target, fragment)
            assert "pwned" not in dom.split("<body", 1)[0].split("</title>", 1)[0], "the title was changed"
            assert "data-pwned" not in dom and "<script>document.title" not in dom
            assert not re.search(r"<img[^>]*onerror", dom) and 'href="javascript:' not in dom


def test_a_suite_bug_is_an_error_and_its_traceback_shows_no_locals(
    suite_run: SuiteRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`error` is the suite's own bug (or a target it cannot talk to): shown with a masked traceback,
    no locals even under --showlocals; the target's answers never end there (test_hostile.py)."""
    declaration = REGISTRY["bad_credential"]

    def buggy(ctx: CheckContext) -> None:
        form = {"client_secret": ctx.session.config.client_secret, "padding": "x" * 10}
        ctx.session.client.send("POST", ctx.session.base_url + "/oauth/token")
        raise KeyError(f"no such field in {form}")

    monkeypatch.setitem(REGISTRY, "bad_credential", replace(declaration, run=buggy))
    run = suite_run("--profile", "yixin", "-k", "YX-BAD-CODE", "--showlocals", "--tb=long", "-rE")
    record = run.record("YX-BAD-CODE")
    assert record["verdict"] == "error"
    assert record["reason"].startswith("internal error in oauth2-conformance (a bug: please report it): KeyError")
    output = run.result.stdout.str()
    assert "in buggy" in output and "raise KeyError" in output, "the bug's traceback is shown"
    assert "secret-1" not in output and "padding" not in output.split("raise KeyError")[0].split("in buggy")[-1]
    assert "form = " not in output and "ctx = " not in output, "no locals"
    assert_nothing_leaks_or_acts(run, suite_bug=True)
