"""pytest-xdist: a parallel run is one run, with the verdicts, report and budget of a sequential one."""

from __future__ import annotations

import inspect
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.checks.catalog import REGISTRY
from conformance.engine.plan import isolated, needs_target_alone
from conformance.engine.runtime import Run, Runtime
from conformance.engine.verdicts import Status, Verdict
from conformance.model.exchange import EvidenceLog, Exchange
from conformance.model.masking import Masker
from conformance.model.spec import load_profiles
from conformance.pytest_plugin import transport
from conformance.pytest_plugin import xdist as parallel
from conformance.servers import ReferenceServer, reference_config

pytest.importorskip("xdist")


def _run(pytester: pytest.Pytester, run_id: str, *args: str) -> dict[str, Any]:
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-q", "--hypothesis-seed=7", f"--run-id={run_id}", *args, timeout=300
    )
    path = pytester.path / "reports" / run_id / "certification.json"
    assert path.is_file(), result.stdout.str() + result.stderr.str()
    return json.loads(path.read_text(encoding="utf-8"))


def _verdicts(doc: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {r["id"]: (r["verdict"], r["reason"]) for r in doc["requirements"]}


@pytest.mark.slow
def test_two_workers_give_the_verdicts_of_a_sequential_run(pytester: pytest.Pytester) -> None:
    """Every profile on the embedded servers, one mutant among them so failures and evidence travel too."""
    args = ("--conformance", "--reference-fault=yixin:code_reusable")
    sequential = _run(pytester, "seq", *args, "-p", "no:xdist")
    parallel_run = _run(pytester, "par", *args, "-n", "2")
    assert _verdicts(parallel_run) == _verdicts(sequential)
    assert (
        parallel_run["gate"]["failures"]
        == sequential["gate"]["failures"]
        == ["YX-CODE-SINGLE-USE", "YX-LIFECYCLE", "YX-CODE-SINGLE-USE-RACE"]
    )
    assert parallel_run["seed"] == sequential["seed"] == 7
    assert all(p["config"] is not None for p in parallel_run["profiles"])
    run_dir = pytester.path / "reports" / "par"
    evidence = (run_dir / "evidence" / "yixin" / "YX-CODE-SINGLE-USE.txt").read_text(encoding="utf-8")
    assert "‹code#" in evidence  # masked on the worker that saw the code
    assert (run_dir / "evidence" / "yixin" / "YX-CODE-SINGLE-USE.sh").is_file()
    assert (run_dir / "junit.xml").is_file() and (run_dir / "summary.html").is_file()
    results = list((run_dir / "allure-results").glob("*-result.json"))
    assert len(results) == len(parallel_run["requirements"])
    assert {p.name for p in (pytester.path / "reports").iterdir()} == {"seq", "par"}  # workers wrote no run dir


@pytest.mark.slow
def test_workers_share_a_real_target_whose_clock_moves(pytester: pytest.Pytester) -> None:
    """One served target for three workers: the clock movers (Ekuaibao) and Yixin's "a new code ends
    every earlier token" run alone, the rest side by side, and the verdicts are the sequential ones."""
    verdicts = []
    for run_id, extra in (("seq", ("-p", "no:xdist")), ("par", ("-n", "3"))):
        with ReferenceServer(["ekuaibao", "yixin"]) as server:  # a fresh clock for each run
            for profile in ("ekuaibao", "yixin"):
                config = reference_config(profile, server.url(profile))
                (pytester.path / f"{profile}.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
            doc = {}
            for profile in ("ekuaibao", "yixin"):
                doc.update(_verdicts(_run(pytester, f"{run_id}-{profile}", f"--target-config={profile}.yaml", *extra)))
        verdicts.append(doc)
    sequential, parallel_run = verdicts
    assert parallel_run == sequential
    assert {v for v, _ in sequential.values()} == {"pass"}


def test_every_check_that_moves_the_clock_runs_isolated() -> None:
    """A check whose source moves the clock declares it (its trait), so it runs isolated."""
    moving = ("let_time_pass(", "move_clock(", "sleep(")
    movers = {name for name, check in REGISTRY.items() if any(m in inspect.getsource(check.run) for m in moving)}
    declared = {name for name, check in REGISTRY.items() if check.traits.moves_clock}
    assert movers and movers <= declared


def test_an_exclusive_holder_never_runs_beside_a_shared_one(tmp_path: Path) -> None:
    requirements = {r.check: r for p in load_profiles().values() for r in p.requirements}
    alone, ordinary = requirements["code_expires"], requirements["code_single_use"]
    session = type("S", (), {"clock_offset": 0.0, "config": type("C", (), {"clock_url": "http://t/_test/clock"})})
    events: list[str] = []

    def hold(requirement: Any, name: str, seconds: float) -> None:
        lock = parallel.TargetLock(tmp_path, "http://target.invalid")  # its own descriptors, like a worker
        with lock.hold(requirement, session()):
            events.append(f"{name}+")
            time.sleep(seconds)
            events.append(f"{name}-")

    reader = threading.Thread(target=hold, args=(ordinary, "r0", 0.3))
    reader.start()
    time.sleep(0.05)
    writer = threading.Thread(target=hold, args=(alone, "w", 0.1))
    writer.start()
    time.sleep(0.05)
    late = threading.Thread(target=hold, args=(ordinary, "r1", 0.05))
    late.start()  # arrives while the writer waits, and goes on beside the first reader
    for thread in (reader, writer, late):
        thread.join(timeout=10)
    assert events.index("r1+") < events.index("r0-")
    assert events.index("w+") > max(events.index("r0-"), events.index("r1-"))
    assert events.index("w-") == events.index("w+") + 1


def test_the_clock_offset_is_shared_by_the_workers(tmp_path: Path) -> None:
    requirements = {r.check: r for p in load_profiles().values() for r in p.requirements}
    mover = requirements["code_expires"]
    reader = next(r for r in requirements.values() if r.profile == mover.profile and not isolated(r))
    clock = type("C", (), {"clock_url": "http://t/_test/clock"})
    first, second = type("S", (), {"clock_offset": 0.0, "config": clock})(), type("S", (), {"clock_offset": 0.0})()
    with parallel.TargetLock(tmp_path, "http://t.invalid").hold(mover, first):
        first.clock_offset += 540.0
    with parallel.TargetLock(tmp_path, "http://t.invalid").hold(reader, second):
        assert second.clock_offset == 540.0


def test_a_verdict_travels_masked() -> None:
    requirement = next(iter(load_profiles()["yixin"].requirements))
    masker = Masker()
    masker.register("tok-SECRET-123", "access_token")
    log = EvidenceLog()
    log.add(
        Exchange(1, "POST", "http://t/token", {"content-type": "x"}, "code=abc", 200, {}, '{"a": "tok-SECRET-123"}')
    )
    log.count = 5
    verdict = Verdict(requirement, Status.FAIL, "saw tok-SECRET-123", log, exchanges=5)
    data = json.loads(json.dumps(transport.dump(verdict, masker)))
    assert "tok-SECRET-123" not in json.dumps(data)
    back = transport.load(data, requirement)
    assert (back.status, back.exchanges, back.log.count, len(back.log)) == (Status.FAIL, 5, 5, 1)
    assert back.reason == "saw ‹access_token#1›"
    passed = transport.dump(Verdict(requirement, Status.PASS, "", log, exchanges=5), masker)
    assert passed["log"] == []


def test_workers_split_the_budget_and_the_rate() -> None:
    plan = Run.from_options(None, ["yixin"], None)
    runtime = Runtime(plan, share=4)
    from conformance.model.config import TargetConfig

    budget = runtime._budget(TargetConfig(max_requests=1000, rate=20.0))
    assert (budget.max_requests, budget.rate) == (250, 5.0)
    assert Runtime(plan)._budget(TargetConfig(max_requests=1000, rate=None)).max_requests == 1000


def test_waiting_a_lifetime_out_needs_no_exclusive_lock() -> None:
    requirements = {r.check: r for p in load_profiles().values() for r in p.requirements}
    with_clock = type("S", (), {"config": type("C", (), {"clock_url": "http://t/_test/clock"})})()
    without = type("S", (), {"config": type("C", (), {"clock_url": None})})()
    assert needs_target_alone(requirements["code_expires"], with_clock)
    assert not needs_target_alone(requirements["code_expires"], without)
    assert needs_target_alone(requirements["new_code_ends_tokens"], without)
    assert not needs_target_alone(requirements["code_single_use"], with_clock)
