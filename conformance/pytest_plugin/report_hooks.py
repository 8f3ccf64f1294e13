"""The report plugin: every conformance run writes `<reports-dir>/<run-id>/`.

Registered by `conformance.plugin` when the suite is active. It points JUnit XML and allure
results into the run directory, follows what pytest does with each requirement's item, turns
baseline failures into xfails, and at the end of the session writes evidence, certification.json
and summary.html, applies the CI gate to the exit status, and masks the files other plugins wrote
(JUnit XML, allure results), parsed.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conformance.engine.runtime import Runtime
from conformance.engine.verdicts import Status
from conformance.model.errors import SuiteError
from conformance.model.sanitize import visible
from conformance.model.spec import Profile, Requirement, load_profiles
from conformance.pytest_plugin import transport
from conformance.pytest_plugin import xdist as parallel
from conformance.pytest_plugin.items import RequirementItem
from conformance.pytest_plugin.outputs import enable_allure, enable_junit, rfc_link
from conformance.pytest_plugin.tracking import Tracker
from conformance.report import baseline as baseline_module
from conformance.report import html, reasons
from conformance.report.certification import (
    FORMAT,
    Certification,
    RequirementRecord,
    dump,
    overall,
    profile_record,
    requirement_record,
    suite_version,
)
from conformance.report.evidence_files import EvidenceFiles
from conformance.report.gate import Gate, evaluate
from conformance.report.run_dir import RunDir, new_run_id
from conformance.report.scrub import Scrubber

EMBEDDED = "embedded reference servers"
# certification.json's fields whose values are words of the target or the user, not of the report.
FREE_TEXT = frozenset({"reason", "target", "command", "config", "baseline"})


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


class ReportPlugin:
    """One per target of a conformance run; its hooks follow the run and write the target's report
    at the end: the run directory itself, or with several targets (`root`, the run directory that
    FleetReport made) `<run-dir>/<target>/`, beside the run's one JUnit and Allure."""

    def __init__(self, runtime: Runtime, config: pytest.Config, root: RunDir | None = None) -> None:
        self.runtime = runtime
        self.root = root
        self.config = config
        self.started = datetime.now(UTC)
        self.tracker = Tracker()
        self.scrubber = Scrubber(runtime.masker)
        self.baseline: baseline_module.Baseline | None = None
        self.run_dir: RunDir | None = None
        self.junit: Path | None = None
        self.allure: Path | None = None
        self.certification: Certification | None = None
        self.gate: Gate | None = None
        self._by_id: dict[str, Requirement] | None = None
        self.worker = hasattr(config, "workerinput")  # an xdist worker: decides, reports nothing itself
        if config.option.collectonly:
            return
        here = Path(config.invocation_params.dir)
        try:
            given = config.getoption("baseline")
            if given:  # workers too: a baseline failure is an xfail before allure sees it
                known = {r.id for p in load_profiles(runtime.run.specs).values() for r in p.requirements}
                self.baseline = baseline_module.load(here / given, known)
            if self.worker:
                return
            if root is not None:
                self.run_dir = RunDir.create(root.path, runtime.run.name or "target")
            else:
                run_id = config.getoption("run_id") or new_run_id(self.started)
                self.run_dir = RunDir.create(here / config.getoption("reports_dir"), run_id)
        except SuiteError as exc:
            raise pytest.UsageError(str(exc)) from None
        self.junit = enable_junit(config, (root or self.run_dir).junit)  # the run's one JUnit and Allure
        self.allure = enable_allure(config, (root or self.run_dir).allure)

    # -- following the items ------------------------------------------------------------------
    def pytest_report_header(self) -> str | None:
        return f"oauth2-conformance: reports in {self.run_dir.path}" if self.run_dir and not self.root else None

    def _ours(self, item: pytest.Item) -> bool:
        """An item of this plugin's target (every requirement item, with one target)."""
        return isinstance(item, RequirementItem) and item.runtime is self.runtime

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            if isinstance(item, RequirementItem) and self._ours(item):
                self.tracker.collected(item.requirement.id, item.nodeid)
                url = rfc_link(item.requirement.source)
                if url:
                    item.add_marker(pytest.mark.allure_link(url, link_type="link", name=item.requirement.source))

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        for item in items:
            if isinstance(item, RequirementItem) and self._ours(item):
                self.tracker.deselected(item.requirement.id, item.nodeid)

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """Innermost wrapper, so allure and junit see a baseline failure already turned into an xfail."""
        report = yield
        if not isinstance(item, RequirementItem) or not self._ours(item):
            return report
        rid = item.requirement.id
        verdict = self.runtime.verdicts.get(rid)
        reason = self.baseline.reason(rid) if self.baseline else None
        if reason and report.when == "call" and report.failed and verdict is not None and verdict.status == Status.FAIL:
            report.outcome = "skipped"
            report.wasxfail = f"baseline: {reason}"
        self.tracker.report(rid, report, decided=verdict is not None)
        if self.worker and report.when == "setup" and verdict is not None:
            setattr(report, transport.ATTRIBUTE, transport.dump(verdict, self.runtime.masker, self.runtime.run.name))
        return report

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """On an xdist controller: a worker's report, with the verdict it decided (masked there)."""
        if self.worker or getattr(report, "node", None) is None:
            return  # a sequential run follows its items in pytest_runtest_makereport
        rid = self._requirement_id(report.nodeid)
        if rid is None:
            return
        data = getattr(report, transport.ATTRIBUTE, None)
        requirement = self._requirements().get(rid)
        if isinstance(data, dict) and requirement is not None and data.get("target") == self.runtime.run.name:
            self.runtime.verdicts[rid] = transport.load(data, requirement)
        self.tracker.report(rid, report, decided=rid in self.runtime.verdicts)

    def _requirements(self) -> dict[str, Requirement]:
        if self._by_id is None:
            self._by_id = {r.id: r for p in self.runtime.run.profiles for r in p.requirements}
        return self._by_id

    def _requirement_id(self, nodeid: str) -> str | None:
        """`yixin::YX-CODE-SINGLE-USE` (`NAME/yixin::...` among several targets) -> the requirement's
        ID, when it is one of this target's."""
        prefix = self.runtime.run.prefix
        if not nodeid.startswith(prefix):
            return None
        profile, sep, rid = nodeid[len(prefix) :].partition("::")
        requirement = self._requirements().get(rid) if sep else None
        return rid if requirement is not None and requirement.profile == profile else None

    # -- the end of the session -------------------------------------------------------------
    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """After junitxml wrote its file (trylast), so that file can be scrubbed too."""
        if self.run_dir is None:
            return
        remote = self.config.stash.get(parallel.REMOTE, None)
        if remote is not None:  # what workers collected, and deselected (-k, -m), as a sequential run knows it
            for nodeid in remote.collected:
                rid = self._requirement_id(nodeid)
                if rid is not None:
                    self.tracker.collected(rid, nodeid)
            for nodeid in remote.deselected:
                rid = self._requirement_id(nodeid)
                if rid is not None:
                    self.tracker.deselected(rid, nodeid)
        run_dir = self.run_dir
        evidence = EvidenceFiles(run_dir, self.scrubber)
        by_profile: dict[str, list[RequirementRecord]] = {}
        for profile in self.runtime.run.profiles:
            by_profile[profile.name] = [
                requirement_record(
                    r,
                    self.runtime.verdicts.get(r.id),
                    self.tracker.trace(r.id),
                    evidence.write(self.runtime.verdicts.get(r.id)),
                    self.baseline.reason(r.id) if self.baseline else None,
                )
                for r in profile.requirements
            ]
        records = [r for recs in by_profile.values() for r in recs]
        self.gate = gate = evaluate(records, self.baseline, certify=self.runtime.run.certify)
        if session.exitstatus == pytest.ExitCode.OK and not gate.passed:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        exit_status = int(session.exitstatus)
        if self.root is not None and exit_status in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            exit_status = 0 if gate.passed else 1  # this target's, not its neighbours' failures
        profiles = [
            profile_record(p, by_profile[p.name], self._config(p), self.runtime.run.faults.get(p.name, ()))
            for p in self.runtime.run.profiles
        ]
        verdict = overall(profiles)
        doc: Certification = {
            "format": FORMAT,
            "suite": {"name": "oauth2-conformance", "version": suite_version()},
            "run_id": (self.root or run_dir).run_id,
            "started": _iso(self.started),
            "finished": _iso(datetime.now(UTC)),
            "target": self.runtime.run.target or EMBEDDED,
            "seed": self._seed(),
            "strict_levels": self.runtime.run.strict,
            "command": list(self.config.invocation_params.args),
            "outputs": {
                "junit": _name(self.junit, run_dir, self.root),
                "allure": _name(self.allure, run_dir, self.root),
            },
            "profiles": profiles,
            "requirements": records,
            "baseline": self._baseline_json(),
            "gate": gate.to_json(exit_status),
            "verdict": verdict,
            "certified": verdict == "pass",
        }
        # Built from masked data (reasons are masked when decided, evidence when written); the
        # fields that carry the target's or the user's words are masked once more, as values: a
        # token named like a key or a verdict of this file can never replace one.
        self.certification = self.scrubber.fields(doc, FREE_TEXT)
        dump(self.certification, run_dir.certification)
        if self.runtime.run.derived is not None:  # ${VAR}s, not values: no secret in it; the target's words inert
            run_dir.target_config.write_text(
                self.scrubber.text(visible(self.runtime.run.derived.text)), encoding="utf-8"
            )
        html.write(self.certification, run_dir)
        if self.junit is not None and self.junit.is_file():  # written by pytest's junitxml: parsed, masked
            self.scrubber.junit(self.junit)
        if self.allure is not None:  # written by allure-pytest: loaded, its free-text fields masked
            self.scrubber.allure(self.allure)

    def write_aborted(self, session: pytest.Session) -> Path | None:
        """Write the report of a run that stopped before any requirement ran (unreachable target)."""
        if self.run_dir is None:
            return None
        session.exitstatus = pytest.ExitCode.USAGE_ERROR
        self.pytest_sessionfinish(session)
        return self.run_dir.path

    def _baseline_json(self) -> dict[str, Any] | None:
        if self.baseline is None:
            return None
        entries = [{"id": rid, "reason": reason} for rid, reason in self.baseline.reasons.items()]
        return {"file": self.baseline.path, "entries": entries}

    def _config(self, profile: Profile) -> dict[str, Any] | None:
        live = self.runtime.sessions.get(profile.name)
        if live is not None:
            return live[0].config.masked()
        remote = self.config.stash.get(parallel.REMOTE, None)
        key = self.runtime.run.prefix + profile.name
        if remote is not None and key in remote.configs:  # a worker's (its embedded server's URL)
            return remote.configs[key]
        return self.runtime.run.config.masked() if self.runtime.run.config else None

    def _seed(self) -> Any:
        """The run's Hypothesis seed (`--hypothesis-seed` replays it)."""
        return self.runtime.run.seed

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.certification is None or self.gate is None or self.run_dir is None:
            return
        tr, doc, gate = terminalreporter, self.certification, self.gate
        tr.section(f"conformance report: {self.runtime.run.name}" if self.root else "conformance report")
        for p in doc["profiles"]:
            counts = ", ".join(f"{n} {v}" for v, n in p["totals"].items() if n)
            label = html.HEADLINE.get(p["verdict"], p["verdict"])
            tr.line(f"{p['name']:<11} {label:<26} {counts}", green=p["certified"], red=p["verdict"] == "fail")
        tr.line(f"overall: {html.HEADLINE.get(doc['verdict'], doc['verdict'])}", bold=True)
        flags = (
            (
                gate.must_not_run,
                "MUST requirements selected but not decided: not certified"
                + (" (--certify: they fail the run)" if gate.certify else " (--certify makes them fail the run)"),
                "red",
            ),
            (gate.expected, "expected failures from the baseline (they do not fail the run)", ""),
            (gate.stale, "STALE baseline entries (they pass now: remove them from the baseline)", "yellow"),
            (gate.never_ran, "baseline entries that never ran (check the selection or the baseline)", "yellow"),
        )
        for ids, label, colour in flags:
            if ids:
                tr.line(f"{label}: {', '.join(ids)}", **({colour: True} if colour else {}))
        outputs = [name for name in doc["outputs"].values() if name is not None and not self.root]
        inside = [name for name in outputs if not Path(name).is_absolute()]
        tr.line(f"reports: {self.run_dir.path} ({', '.join(['certification.json', 'summary.html', *inside])})")
        for name in outputs:
            if name not in inside:
                tr.line(f"also written (your path): {name}")
        reasons.to_terminal(tr, doc["requirements"])

    def pytest_unconfigure(self) -> None:
        if self.run_dir is not None and self.certification is None:
            self.run_dir.remove_if_empty()


def _name(path: Path | None, run_dir: RunDir, root: RunDir | None = None) -> str | None:
    """An output's path relative to the report (`../junit.xml` for a target's report among several)."""
    if path is None:
        return None
    for base, up in ((run_dir, ""), (root, "../")):
        if base is not None and path.is_relative_to(base.path):
            return up + path.relative_to(base.path).as_posix()
    return str(path)
