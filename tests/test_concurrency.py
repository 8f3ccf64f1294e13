"""`--concurrency N`: requirements decided side by side in one process give the sequential run's
verdicts, keep exclusive requirements alone on their target, and leave pytest in charge."""

from __future__ import annotations

import ast
import inspect
import json
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from conformance.checks.catalog import REGISTRY
from conformance.engine import scheduler as scheduling
from conformance.engine.runtime import Run, Runtime
from conformance.engine.scheduler import Scheduler, Task, concurrency
from conformance.engine.verdicts import Status, Verdict, absent
from conformance.model import config as config_module
from conformance.model.errors import ConfigError, TargetError, TargetUnreachable
from conformance.model.spec import load_profiles
from conformance.pytest_plugin import xdist as parallel
from conformance.servers import ReferenceServer, reference_config
from conformance.target.client import Breaker, Budget, TargetClient


def _run(pytester: pytest.Pytester, run_id: str, *args: str) -> dict[str, Any]:
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-q", "--hypothesis-seed=7", f"--run-id={run_id}", *args, timeout=300
    )
    path = pytester.path / "reports" / run_id / "certification.json"
    assert path.is_file(), result.stdout.str() + result.stderr.str()
    return json.loads(path.read_text(encoding="utf-8"))


def _verdicts(doc: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {r["id"]: (r["verdict"], r["reason"]) for r in doc["requirements"]}


def _junit(pytester: pytest.Pytester, run_id: str) -> dict[str, str]:
    """Each test case of a run's JUnit XML and its outcome (passed, failure, skipped, error)."""
    root = ET.parse(pytester.path / "reports" / run_id / "junit.xml").getroot()
    cases = {}
    for case in root.iter("testcase"):
        kinds = [child.tag for child in case if child.tag in {"failure", "skipped", "error"}]
        cases[f"{case.get('classname')}::{case.get('name')}"] = kinds[0] if kinds else "passed"
    return cases


@pytest.mark.slow
def test_concurrent_verdicts_are_the_sequential_ones_with_a_mutant(pytester: pytest.Pytester) -> None:
    """Every profile on the embedded servers, with mutants on so failures and their evidence count too."""
    args: tuple[str, ...] = ("--conformance", "-p", "no:xdist", "--reference-fault=yixin:code_reusable")
    args += ("--reference-fault=rfc6749:pkce_not_verified",)
    # The lifecycle model sends its probes side by side within the limit (call_together): a probe that
    # breaks the model fails it the same way, one at a time or eight.
    args += ("--reference-fault=usercenter:destroy_leaves_check_valid",)
    sequential = _run(pytester, "seq", *args, "--concurrency=1")
    concurrent = _run(pytester, "conc", *args, "--concurrency=8")
    assert _verdicts(concurrent) == _verdicts(sequential)
    assert concurrent["gate"]["failures"] == sequential["gate"]["failures"]
    assert {"YX-CODE-SINGLE-USE", "RFC-PKCE-S256", "UC-LIFECYCLE"} <= set(sequential["gate"]["failures"])
    assert _junit(pytester, "conc") == _junit(pytester, "seq")  # node IDs and outcomes, as pytest saw them
    evidence = pytester.path / "reports" / "conc" / "evidence" / "yixin" / "YX-CODE-SINGLE-USE.txt"
    assert "‹code#" in evidence.read_text(encoding="utf-8")


@pytest.mark.slow
def test_the_default_against_a_served_target_gives_the_sequential_verdicts(pytester: pytest.Pytester) -> None:
    """A real target (the default is concurrent there), a mutant among its faults; the clock movers
    and Yixin's "a new code ends every earlier token" run alone; -n 2 combines with it."""
    runs: dict[str, dict[str, tuple[str, str]]] = {}
    for run_id, extra in (("seq", ("--concurrency=1",)), ("default", ()), ("xdist", ("-n", "2"))):
        with ReferenceServer(["ekuaibao", "yixin"]) as server:  # a fresh clock for each run
            server.states["yixin"].set_faults({"wrong_error_code"})
            for profile in ("ekuaibao", "yixin"):
                config = reference_config(profile, server.url(profile))
                (pytester.path / f"{profile}.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
            doc: dict[str, tuple[str, str]] = {}
            for profile in ("ekuaibao", "yixin"):
                found = _run(pytester, f"{run_id}-{profile}", f"--target-config={profile}.yaml", *extra)
                doc.update(_verdicts(found))
        runs[run_id] = doc
    assert runs["default"] == runs["seq"]
    assert runs["xdist"] == runs["seq"]
    assert {v for v, _ in runs["seq"].values()} == {"pass", "fail"}


@pytest.mark.slow
def test_stopping_early_stops_where_a_sequential_run_stops(pytester: pytest.Pytester) -> None:
    """-x decides one item at a time, so the requirements after the first failure never ran, as before."""
    args = ("--conformance", "-p", "no:xdist", "--profile=yixin", "--reference-fault=yixin:wrong_error_code", "-x")
    sequential = _run(pytester, "seq", *args, "--concurrency=1")
    stopped = _run(pytester, "stop", *args, "--concurrency=8")
    assert _verdicts(stopped) == _verdicts(sequential)
    assert any(reason.startswith("never ran") for _, reason in _verdicts(stopped).values())


def test_k_selects_and_node_ids_stay(pytester: pytest.Pytester) -> None:
    args = ("--conformance", "-p", "no:xdist", "--profile=yixin", "-k", "REQUIRED", "--concurrency=4")
    doc = _run(pytester, "k", *args)
    cases = _junit(pytester, "k")
    assert cases and all("REQUIRED" in name for name in cases)
    assert all(name.startswith("yixin::YX-") for name in cases)
    decided = {r["id"] for r in doc["requirements"] if r["verdict"] == "pass"}
    assert decided == {name.split("::")[-1] for name in cases}


def test_every_check_driven_by_hypothesis_says_so() -> None:
    """Its trait is how the scheduler and the benchmark know a property (see HYPOTHESIS_AT_ONCE)."""
    driven = {
        name
        for name, check in REGISTRY.items()
        if any(m in inspect.getsource(check.run) for m in ("run_property(", "run_state_machine_as_test("))
    }
    declared = {name for name, check in REGISTRY.items() if check.traits.hypothesis}
    assert driven and driven <= declared  # some reach run_property through a helper of their own


# -- the scheduler ------------------------------------------------------------------------------


class Recording(Scheduler):
    """A scheduler whose decisions only note when they ran (the dispatch is what is tested)."""

    def __init__(self, limits: dict[int, int], seconds: float = 0.05, durations: dict[str, float] | None = None):
        super().__init__(limits)
        self.seconds = seconds
        self.durations = durations or {}
        self.events: list[tuple[str, str, float]] = []
        self._events_lock = threading.Lock()

    def _decide(self, task: Task) -> Verdict:
        with self._events_lock:
            self.events.append(("+", str(task.key), time.monotonic()))
        time.sleep(self.durations.get(str(task.key), self.seconds))
        with self._events_lock:
            self.events.append(("-", str(task.key), time.monotonic()))
        return absent(task.requirement, Status.PASS, "recorded")

    def overlapping(self, a: str, b: str) -> bool:
        span = {key: [t for sign, k, t in self.events if k == key] for key in (a, b)}
        (a0, a1), (b0, b1) = span[a], span[b]
        return a0 < b1 and b0 < a1

    def peak(self) -> int:
        running = peak = 0
        for sign, _, _ in sorted(self.events, key=lambda e: (e[2], e[0] == "+")):
            running += 1 if sign == "+" else -1
            peak = max(peak, running)
        return peak


def _requirements() -> list[Any]:
    return [r for r in load_profiles()["ekuaibao"].requirements if r.check in {"required_param", "response_valid"}]


def test_an_exclusive_requirement_runs_alone_on_its_target_in_its_place() -> None:
    """Alone, and in pytest's order: what comes before it on its target is done when it starts,
    what comes after starts when it is done (the clock has moved as in a sequential run)."""
    runtime = object()
    ordinary = _requirements()
    scheduler = Recording({id(runtime): 4}, durations={"other": 0.4, "r0": 0.15})
    tasks = [Task(f"r{n}", runtime, r, "http://a", False, n) for n, r in enumerate(ordinary[:3])]  # type: ignore[arg-type]
    tasks += [Task("alone", runtime, ordinary[0], "http://a", True, 3)]  # type: ignore[arg-type]
    tasks += [Task(f"s{n}", runtime, r, "http://a", False, 4 + n) for n, r in enumerate(ordinary[:2])]  # type: ignore[arg-type]
    tasks += [Task("other", runtime, ordinary[0], "http://b", True, 9)]  # type: ignore[arg-type]
    scheduler.submit(tasks)
    for task in tasks:
        assert scheduler.verdict(task.key).reason == "recorded"
    scheduler.close()
    start = {key: t for sign, key, t in scheduler.events if sign == "+"}
    end = {key: t for sign, key, t in scheduler.events if sign == "-"}
    assert all(end[f"r{n}"] <= start["alone"] for n in range(3))
    assert all(start[f"s{n}"] >= end["alone"] for n in range(2))
    assert scheduler.overlapping("r1", "r2") and scheduler.overlapping("s0", "s1")
    assert scheduler.overlapping("alone", "other")  # another target's exclusive one goes on meanwhile
    assert scheduler.peak() <= 4


def test_each_target_keeps_its_limit() -> None:
    first, second = object(), object()
    requirement = _requirements()[0]
    scheduler = Recording({id(first): 2, id(second): 1})
    tasks = [Task(f"a{n}", first, requirement, "http://a", False, n) for n in range(6)]  # type: ignore[arg-type]
    tasks += [Task(f"b{n}", second, requirement, "http://b", False, n) for n in range(3)]  # type: ignore[arg-type]
    scheduler.submit(tasks)
    for task in tasks:
        scheduler.verdict(task.key)
    scheduler.close()
    assert scheduler.peak() == 3
    assert not any(scheduler.overlapping(f"b{i}", f"b{j}") for i in range(3) for j in range(3) if i < j)


def test_closing_drops_what_never_started() -> None:
    runtime = object()
    requirement = _requirements()[0]
    scheduler = Recording({id(runtime): 1}, seconds=0.2)
    scheduler.submit([Task(f"t{n}", runtime, requirement, "http://a", False, n) for n in range(5)])  # type: ignore[arg-type]
    time.sleep(0.05)
    scheduler.close()
    started = {key for sign, key, _ in scheduler.events if sign == "+"}
    assert started == {"t0"}


class Fragile(Recording):
    """A target where `victim` fails whenever another requirement runs beside it (one token per client)."""

    def _decide(self, task: Task) -> Verdict:
        with self._events_lock:
            beside = [k for sign, k, _ in self.events if sign == "+"]
            ended = [k for sign, k, _ in self.events if sign == "-"]
            crowded = any(k not in ended for k in beside)
        super()._decide(task)
        if task.key == "victim" and (crowded or not task.exclusive):
            return absent(task.requirement, Status.FAIL, "its token was ended by another requirement")
        return absent(task.requirement, Status.PASS, "alone" if task.confirming else "recorded")


def test_a_verdict_other_than_pass_decided_beside_others_is_decided_again_alone() -> None:
    runtime = object()
    requirement = _requirements()[0]
    scheduler = Fragile({id(runtime): 4})
    keys = ["victim", "a", "b", "c"]
    scheduler.submit([Task(key, runtime, requirement, "http://a", False, n) for n, key in enumerate(keys)])  # type: ignore[arg-type]
    verdicts = {key: scheduler.verdict(key) for key in keys}
    scheduler.close()
    assert verdicts["victim"].status == Status.PASS and verdicts["victim"].reason == "alone"
    assert scheduler.confirmed == ["victim"]
    assert all(verdicts[key].reason == "recorded" for key in "abc")


def test_ast_parse_is_serialised_while_a_pool_runs_and_restored_after() -> None:
    original = ast.parse
    runtime = object()
    scheduler = Recording({id(runtime): 2}, seconds=0.0)
    scheduler.submit([Task("t", runtime, _requirements()[0], "http://a", False, 0)])  # type: ignore[arg-type]
    assert ast.parse is not original and ast.parse("x + 1").body
    scheduler.close()
    assert ast.parse is original


# -- the limit, the shared state ------------------------------------------------------------------


def test_the_limit_comes_from_the_option_the_config_or_the_default(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({"profile": "yixin", "concurrency": 3}), encoding="utf-8")
    configured = Runtime(Run.from_options("http://t.invalid", None, str(path)))
    plain = Runtime(Run.from_options("http://t.invalid", ["yixin"], None))
    embedded = Runtime(Run.from_options(None, ["yixin"], None))
    assert concurrency(configured, None) == 3 and concurrency(configured, 5) == 5
    assert concurrency(plain, None) == scheduling.DEFAULT_CONCURRENCY
    assert concurrency(embedded, None) == scheduling.EMBEDDED_CONCURRENCY
    assert concurrency(configured, None, 40.0) == 3 and concurrency(configured, 5, 0.5) == 5


@pytest.mark.parametrize(("round_trip_ms", "limit"), [(0.4, 2), (1.0, 2), (2.4, 4), (5.0, 6), (42.0, 8), (900.0, 8)])
def test_the_default_limit_follows_the_measured_round_trip(round_trip_ms: float, limit: int) -> None:
    """Little's law: 1 + round trip / CPU per exchange requirements keep the process busy, from 2
    (a local target: this process and the target overlap) to the bound of 8."""
    plain = Runtime(Run.from_options("http://t.invalid", ["yixin"], None))
    embedded = Runtime(Run.from_options(None, ["yixin"], None))
    assert concurrency(plain, None, round_trip_ms) == limit
    assert concurrency(embedded, None, round_trip_ms) == scheduling.EMBEDDED_CONCURRENCY


def test_the_limit_is_measured_once_the_reachability_probe_has_answered(
    pytester: pytest.Pytester, reference: ReferenceServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen: list[tuple[float | None, int]] = []
    measured = scheduling.concurrency

    def spy(runtime: Runtime, given: int | None, round_trip_ms: float | None = None) -> int:
        limit = measured(runtime, given, round_trip_ms)
        chosen.append((round_trip_ms, limit))
        return limit

    monkeypatch.setattr("conformance.pytest_plugin.concurrency.concurrency", spy)
    url = reference.url("yixin")
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider", f"--target={url}", "-k", "REQUIRED")
    assert result.ret == 0
    assert chosen[0] == (None, scheduling.DEFAULT_CONCURRENCY)  # at configure: the bound
    round_trip, limit = chosen[1]  # at the first item: from the probe's answer
    plain = Runtime(Run.from_options(url, ["yixin"], None))
    assert round_trip is not None and limit == measured(plain, None, round_trip)


@pytest.mark.parametrize("value", [0, -1, "four", True, 1.5])
def test_a_bad_concurrency_in_the_config_is_refused(value: Any) -> None:
    with pytest.raises(ConfigError, match="concurrency must be a positive integer"):
        config_module.from_mapping({"profile": "yixin", "concurrency": value})


def test_a_bad_concurrency_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--conformance", "--profile=yixin", "--concurrency=0", timeout=120)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--concurrency must be at least 1" in result.stderr.str()


def test_each_thread_has_its_own_session_sharing_budget_breaker_and_clock() -> None:
    runtime = Runtime(Run.from_options("http://127.0.0.1:9", ["yixin"], None))
    profile = runtime.run.profiles[0]
    main, _ = runtime.session(profile)
    found: list[Any] = []
    thread = threading.Thread(target=lambda: found.append(runtime.session(profile)))
    thread.start()
    thread.join(timeout=10)
    other, _ = found[0]
    try:
        assert other is not main
        assert other.client.budget is main.client.budget and other.client.breaker is main.client.breaker
        main.clock_offset = 120.0
        assert other.clock_offset == 120.0
        assert len(runtime.all_sessions()) == 2
    finally:
        runtime.close()


def test_the_breaker_counts_the_failures_of_every_thread_together() -> None:
    config = config_module.from_mapping({"profile": "yixin", "connect_timeout": 1, "timeout": 1})
    budget, breaker = Budget(100, None), Breaker()
    clients = [TargetClient(config, budget, breaker) for _ in range(3)]
    try:
        for client in clients:  # one failure each: three in a row, across clients
            with pytest.raises(TargetError):
                client.send("GET", "http://127.0.0.1:9/")
        with pytest.raises(TargetUnreachable):
            TargetClient(config, budget, breaker).send("GET", "http://127.0.0.1:9/")
        assert budget.used == 3
    finally:
        for client in clients:
            client.close()


def test_threads_of_one_worker_exclude_each_other_on_the_file_lock(tmp_path: Path) -> None:
    """flock belongs to an open file: the threads of one process each open their own, so an
    exclusive holder waits for a shared one held by another thread of the same worker."""
    requirements = {r.check: r for p in load_profiles().values() for r in p.requirements}
    alone, ordinary = requirements["code_expires"], requirements["code_single_use"]
    session = type("S", (), {"clock_offset": 0.0, "config": type("C", (), {"clock_url": "http://t/_test/clock"})})
    lock = parallel.TargetLock(tmp_path, "http://target.invalid")  # one lock object for the process
    events: list[str] = []

    def hold(requirement: Any, name: str, seconds: float) -> None:
        with lock.hold(requirement, session()):
            events.append(f"{name}+")
            time.sleep(seconds)
            events.append(f"{name}-")

    reader = threading.Thread(target=hold, args=(ordinary, "r", 0.3))
    reader.start()
    time.sleep(0.05)
    writer = threading.Thread(target=hold, args=(alone, "w", 0.05))
    writer.start()
    for thread in (reader, writer):
        thread.join(timeout=10)
    assert events == ["r+", "r-", "w+", "w-"]


def test_a_served_target_answers_concurrent_requests_together() -> None:
    """The latency a benchmark adds is per request, not per server: requests in flight wait together."""
    with ReferenceServer(["yixin"], latency=0.2) as server:
        started = time.monotonic()
        threads = [threading.Thread(target=httpx.get, args=(server.url("yixin") + "/nothing",)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert time.monotonic() - started < 0.6
