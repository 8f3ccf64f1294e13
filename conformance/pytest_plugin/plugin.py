"""The pytest plugin: options, the run's lifecycle, collection of requirement items, summaries.

Active when any of its options is given (`--target`, `--profile`, `--target-config`, `--spec`,
`--conformance`); otherwise it stays out of the way of ordinary test runs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from conformance.engine import fleet
from conformance.engine.plan import isolated
from conformance.engine.runtime import Runtime
from conformance.engine.shards import Shard
from conformance.model.config import Derived
from conformance.model.errors import SuiteError
from conformance.model.spec import SPECS_ENV
from conformance.pytest_plugin import xdist as parallel
from conformance.pytest_plugin.concurrency import Concurrency
from conformance.pytest_plugin.concurrency import add_option as add_concurrency_option
from conformance.pytest_plugin.fleet_report import FleetReport
from conformance.pytest_plugin.heap import FrozenHeap
from conformance.pytest_plugin.items import ProfileCollector, RequirementItem
from conformance.pytest_plugin.options import add_options
from conformance.pytest_plugin.report_hooks import ReportPlugin
from conformance.pytest_plugin.shards import ShardSelection
from conformance.target.detect import Detection

TARGET = "--target"
PROFILE = "--profile"
TARGET_CONFIG = "--target-config"
CONFORMANCE = "--conformance"
STRICT = "--strict-levels"
FAULT = "--reference-fault"
CERTIFY = "--certify"
SHARD = "--shard"
EXAMPLES_OPT = "--examples"
SPEC = "--spec"
SPECS_INI = "conformance_specs"
RUNTIME = pytest.StashKey[Runtime]()  # the run's only target (absent with several: RUNTIMES)
RUNTIMES = pytest.StashKey[list[Runtime]]()  # every target of the run, one Runtime each
REPORT = pytest.StashKey[Any]()  # what writes the run directory (ReportPlugin, or FleetReport with several)
INSECURE_WARNING = (
    "WARNING: TLS certificate verification is OFF (insecure: true in the target config); "
    "use ca_bundle to trust a private CA instead"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("oauth2-conformance", "OAuth2 conformance suite")
    group.addoption(
        TARGET,
        default=os.environ.get("OAUTH2_CONFORMANCE_TARGET"),
        metavar="URL",
        help="base URL of the authorization server under test (spec paths are appended); "
        "default: the embedded reference servers. Env: OAUTH2_CONFORMANCE_TARGET.",
    )
    group.addoption(
        PROFILE,
        action="append",
        metavar="NAME",
        help="profile to run (repeatable or comma-separated; default: all)",
    )
    group.addoption(
        SHARD,
        metavar="K/N",
        help="decide only shard K of N (a CI matrix or a Kubernetes Indexed Job runs the others); "
        "join the shards' run directories with `oauth2-conformance report merge`",
    )
    group.addoption(
        TARGET_CONFIG,
        action="append",
        metavar="FILE|DIR",
        help="target config YAML (client credentials, code_command, ...); repeatable, or a folder of *.yaml: "
        "several targets in one run, each named after its file",
    )
    group.addoption(CONFORMANCE, action="store_true", help="run the conformance suite (implied by the options above)")
    group.addoption(STRICT, action="store_true", help="SHOULD violations fail instead of warning")
    group.addoption(
        CERTIFY,
        action="store_true",
        help="certification mode: a MUST requirement that could not be decided (not run) fails the run",
    )
    group.addoption(
        EXAMPLES_OPT,
        metavar="quick|thorough|N",
        help="Hypothesis examples per property (default quick; thorough for certification)",
    )
    group.addoption(
        FAULT,
        action="append",
        default=[],
        metavar="PROFILE:FAULT",
        help="switch a fault on in an embedded reference server (to see the suite fail a mutant)",
    )
    group.addoption(
        SPEC,
        action="append",
        default=[],
        metavar="FILE",
        help="a spec (OpenAPI + x-conformance YAML) added beside the built-in ones, or a folder of them; "
        f"repeatable. Ini: {SPECS_INI}. Env: {SPECS_ENV} (paths separated by {os.pathsep!r}).",
    )
    parser.addini(SPECS_INI, type="paths", default=[], help="spec files or folders added beside the built-in specs")
    add_concurrency_option(group)
    add_options(group)


def _active(config: pytest.Config) -> bool:
    return any(config.getoption(o) for o in (TARGET, PROFILE, TARGET_CONFIG, CONFORMANCE, STRICT, CERTIFY, SPEC))


def pytest_configure(config: pytest.Config) -> None:
    if not _active(config):
        return
    try:
        plans = fleet.plan(
            config.getoption(TARGET),
            config.getoption(PROFILE),
            config.getoption(TARGET_CONFIG),
            bool(config.getoption(STRICT)),
            config.getoption(EXAMPLES_OPT),
            _hypothesis_seed(config),
            faults=config.getoption(FAULT),
            certify=bool(config.getoption(CERTIFY)),
            detected=parallel.worker_detected(config),
            specs=_specs(config),
            surveyed=parallel.worker_surveyed(config),
        )
        shard = Shard.parse(config.getoption(SHARD)) if config.getoption(SHARD) else None
    except SuiteError as exc:
        raise pytest.UsageError(str(exc)) from None
    if shard is not None:
        config.pluginmanager.register(ShardSelection(shard), "oauth2-conformance-shard")
    runtimes = [Runtime(plan, attach=_attach, share=parallel.worker_count(config)) for plan in plans]
    config.stash[RUNTIMES] = runtimes
    reporter: Any
    if len(runtimes) == 1:
        config.stash[RUNTIME] = runtimes[0]
        reporter = ReportPlugin(runtimes[0], config)
        config.pluginmanager.register(reporter, "oauth2-conformance-report")
    else:
        reporter = FleetReport(runtimes, config)
        config.pluginmanager.register(reporter, "oauth2-conformance-fleet")
        for part in reporter.parts:
            config.pluginmanager.register(part, f"oauth2-conformance-report-{part.runtime.run.name}")
    config.stash[REPORT] = reporter
    config.pluginmanager.register(FrozenHeap(), "oauth2-conformance-heap")
    if not parallel.is_controller(config):  # a controller runs no item: its workers decide
        config.pluginmanager.register(Concurrency(config, runtimes), "oauth2-conformance-concurrency")
    if parallel.is_worker(config):
        config.pluginmanager.register(parallel.Worker(config, runtimes), "oauth2-conformance-worker")
    elif parallel.is_controller(config):
        detected = {p.target: p.profiles[0].name for p in plans if p.detection is not None and p.target}
        surveyed = {p.target: p.derived.text for p in plans if p.derived is not None and p.target}
        controller = parallel.Controller(config, plans[0].seed, lambda: reporter.allure, detected, surveyed)
        config.pluginmanager.register(controller, "oauth2-conformance-controller")


def _specs(config: pytest.Config) -> list[str]:
    """`--spec` (relative to where pytest was invoked) and the ini's `conformance_specs` (relative to
    the ini file, as pytest resolves `paths`)."""
    here = Path(config.invocation_params.dir)
    given = [str(here / p) for p in config.getoption(SPEC)]
    return given + [str(p) for p in config.getini(SPECS_INI)]


def _runtimes(config: pytest.Config) -> list[Runtime]:
    return config.stash.get(RUNTIMES, [])


def _hypothesis_seed(config: pytest.Config) -> int | None:
    """`--hypothesis-seed` (Hypothesis's own option) replays a run; otherwise the run picks one.
    A pytest-xdist worker takes its controller's, so the workers together are one run."""
    handed = parallel.worker_seed(config)
    if handed is not None:
        return handed
    try:
        value = config.getoption("hypothesis_seed")
    except ValueError:
        return None
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise pytest.UsageError(f"--hypothesis-seed must be an integer, got {value!r}") from None


def pytest_unconfigure(config: pytest.Config) -> None:
    for runtime in _runtimes(config):
        runtime.close()


def pytest_sessionstart(session: pytest.Session) -> None:
    runtimes = _runtimes(session.config)
    problems = []
    for runtime in runtimes:
        try:
            runtime.probe()
        except SuiteError as exc:
            # The run ends here, but still writes what it learned: a report with every requirement not run.
            runtime.abort(str(exc))
            problems.append(f"{runtime.run.name}: {exc}" if runtime.run.name else str(exc))
    if problems:
        reporter = session.config.stash.get(REPORT, None)
        where = reporter.write_aborted(session) if reporter is not None else None
        raise pytest.UsageError("; ".join(problems) + (f" (report: {where})" if where else "")) from None


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    runtimes = _runtimes(config)
    if not runtimes:
        return None
    lines = []
    for runtime in runtimes:
        plan = runtime.run
        target = plan.target or "embedded reference servers"
        named = f"{plan.name}: " if plan.name else ""
        if plan.config is not None and plan.config.insecure:
            lines.append(f"{named}{INSECURE_WARNING}")
        lines.append(f"oauth2-conformance: {named}target {target}; profiles {', '.join(p.name for p in plan.profiles)}")
        if plan.detection is not None:
            lines.append(f"oauth2-conformance: {named}{_detected(plan.detection)}")
        if plan.derived is not None:
            lines.append(f"oauth2-conformance: {named}{_derived(plan.derived)}")
    plan = runtimes[0].run
    lines.append(
        f"oauth2-conformance: {plan.examples} examples per property; "
        f"hypothesis seed {plan.seed} (replay with --hypothesis-seed={plan.seed})"
    )
    return lines


def _detected(detection: Detection) -> str:
    """`chose generic because ...`: the run was given no profile, so it says which it chose and why."""
    return f"no --profile given: chose {detection.explain()}; pass --profile=NAME to choose another"


def _derived(derived: Derived) -> str:
    """No config file: the run says it wrote its own, and which variables it could not read."""
    said = (
        "no --target-config given: the config `oauth2-conformance init` writes, built in memory "
        "(saved as target-config.yaml in the report)"
    )
    if not derived.unset:
        return f"{said}; every value from the environment"
    return (
        f"{said}; not in the environment: {', '.join(derived.unset)} (export them, or pass "
        "--target-config=FILE): the requirements that need them are not run"
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Without explicit paths, a conformance run collects the suite only, not the folder's tests."""
    if _runtimes(config) and config.args_source != pytest.Config.ArgsSource.ARGS:
        return True
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Node IDs `profile::ID`; among several targets `target/profile::ID`.

    In each profile the requirements that may need the target alone (they move its clock, or
    another requirement could decide them) come last, in the spec's order; the rest keep it.
    Whether one at a time or concurrently (`--concurrency`), an exclusive requirement is decided in
    its place in this order, so placed last they split nothing: the others all run side by side
    before them, and the clock moves after all of them, as it always did under pytest-xdist."""
    for runtime in _runtimes(config):
        for profile in runtime.run.profiles:
            nodeid = runtime.run.prefix + profile.name
            collector = ProfileCollector.from_parent(
                session, name=nodeid, nodeid=nodeid, profile=profile, runtime=runtime
            )
            collected = collector.collect()
            for item in sorted(collected, key=lambda i: isolated(i.requirement)):  # type: ignore[attr-defined]
                _label(item)
                items.append(item)


def _label(item: pytest.Item) -> None:
    """allure-pytest labels: epic = profile, feature = flow, story = requirement, severity = level."""
    if not isinstance(item, RequirementItem):
        return
    req = item.requirement
    severity = {"MUST": "critical", "SHOULD": "normal", "MAY": "minor"}[req.level]
    for value, kind in (
        (req.profile, "epic"),
        (req.flow or req.check, "feature"),
        (req.id, "story"),
        (severity, "severity"),
    ):
        item.add_marker(pytest.mark.allure_label(value, label_type=kind))


def _attach(item: Any, evidence: str, script: str) -> None:
    try:
        import allure
    except ImportError:  # pragma: no cover - allure-pytest is a dependency
        return
    allure.attach(evidence, name="exchanges (masked)", attachment_type=allure.attachment_type.TEXT)
    allure.attach(script, name="reproduce.sh", attachment_type=allure.attachment_type.TEXT)


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, Any] | None:
    """A SHOULD (or advisory) violation passes, but shows as a warning: W, and "warned" in the totals."""
    if report.when == "call" and report.passed and ("verdict", "warning") in report.user_properties:
        return "warned", "W", ("WARNING", {"yellow": True})
    return None


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    runtimes = _runtimes(config)
    for runtime in runtimes:
        named = f"{runtime.run.name}: " if runtime.run.name else ""
        if runtime.run.config is not None and runtime.run.config.insecure:
            terminalreporter.write_line(f"{named}{INSECURE_WARNING}", yellow=True, bold=True)
        if runtime.run.detection is not None and terminalreporter.verbosity < 0:  # -q: no header said it
            terminalreporter.write_line(f"oauth2-conformance: {named}{_detected(runtime.run.detection)}")
        if runtime.run.derived is not None and runtime.run.derived.unset and terminalreporter.verbosity < 0:
            terminalreporter.write_line(f"oauth2-conformance: {named}{_derived(runtime.run.derived)}")
    if not any(runtime.verdicts for runtime in runtimes):
        return
    warnings = [(r, v) for r in runtimes for v in r.verdicts.values() if v.status == "warning"]
    if warnings:
        terminalreporter.section("conformance warnings (SHOULD or advisory: not failures)", yellow=True)
        for runtime, v in warnings:
            terminalreporter.line(f"{runtime.run.prefix}{v.requirement.cite()}: {v.reason}")
    terminalreporter.section("conformance verdicts")
    for runtime in runtimes:
        counts: dict[str, int] = {}
        for v in runtime.verdicts.values():
            counts[v.status] = counts.get(v.status, 0) + 1
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        if runtime.run.name:
            terminalreporter.line(f"{runtime.run.name}: {summary or 'no requirement decided'}")
    remote = config.stash.get(parallel.REMOTE, None)
    requests = sum(r.requests_made() for r in runtimes) + (remote.requests if remote is not None else 0)
    if len(runtimes) == 1:
        terminalreporter.line(f"{summary}; {requests} requests to the target")
    else:
        terminalreporter.line(f"{requests} requests to the {len(runtimes)} targets")
