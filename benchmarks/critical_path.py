"""How close a latency-bound run comes to its critical path: wall time over the bound (issue 19).

    python benchmarks/critical_path.py                          # +40 ms, every profile, then all six at once
    python benchmarks/critical_path.py --latency-ms 40 --profiles ekuaibao,yixin --concurrency 1,8

Each run gets a fresh reference server in its own process (`oauth2-conformance serve
--latency-ms`: every answer waits that long; the clock checks move its clock, so no run inherits
another's), one target config per profile, and pytest in its own process. First sequentially
(`--concurrency 1`), which gives each requirement's duration and exchange count (certification.json),
then with each `--concurrency` asked for. All six profiles also run in one process, as six targets
(`--target-config DIR`).

The bound of one target, from the sequential run's evidence and timings:

* `rtt`: the measured round trip of one exchange (median of plain GETs to the server);
* a requirement's chain: its exchanges (each waits for the previous answer) x rtt, plus its waits
  (time waited out for a lifetime, when the target has no clock_url; none on the reference servers);
* exclusive requirements (moving the clock, needing the target alone) run alone on the target,
  so they add up; every other requirement can overlap them all: the longest one counts;
* bound = sum(exclusive chains) + the longest shared chain. Several targets: the largest of theirs.
* the scheduler keeps each exclusive requirement in its place in pytest's order (so the clock
  moves as in a sequential run); the plugin orders them last in each profile, so they split no
  group of shared ones and the bound above is the one the scheduler can reach.

Printed besides: `cpu`, the pytest process's CPU time (with the GIL, no run beats it), and
whether the verdicts are the sequential run's. Every run is bounded (subprocess timeouts; a
server that does not start in 30 s stops the benchmark).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import ENV, RUN_TIMEOUT, free_port

from conformance.engine.plan import isolated
from conformance.model.spec import load_profiles
from conformance.servers import PROFILES, reference_config


@contextlib.contextmanager
def served(latency_ms: float) -> Iterator[int]:
    """Every profile's reference server, in its own process, answering `latency_ms` late."""
    port = free_port()
    command = [sys.executable, "-m", "conformance", "serve", "--port", str(port), "--latency-ms", str(latency_ms)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("the reference server did not start within 30 s")
        yield port
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        if process.poll() is None:
            process.kill()


def round_trip(port: int, samples: int = 15) -> float:
    """The median time of one exchange on a kept-alive connection, in seconds."""
    times = []
    with httpx.Client() as client:
        client.get(f"http://127.0.0.1:{port}/")
        for _ in range(samples):
            started = time.monotonic()
            client.get(f"http://127.0.0.1:{port}/")
            times.append(time.monotonic() - started)
    return statistics.median(times)


@dataclass
class Run:
    wall: float
    cpu: float  # user + system seconds of the pytest process
    records: list[dict[str, Any]]  # certification.json's requirements, every target's
    durations: dict[str, float]  # node ID -> seconds from setup to teardown
    output: str

    def verdicts(self) -> dict[str, str]:
        return {f"{r['profile']}::{r['id']}": r["verdict"] for r in self.records}


def suite(folder: Path, configs: list[Path], concurrency: int, examples: str) -> Run:
    """One pytest process against the configs' targets (a folder of them when there are several)."""
    run_id = f"run-{time.monotonic_ns()}"
    timeline = folder / f"{run_id}.timeline"
    target = configs[0] if len(configs) == 1 else configs[0].parent
    command = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-p", "timeline_plugin", "-q",
        f"--target-config={target}", f"--reports-dir={folder}", f"--run-id={run_id}", "--examples", examples,
        f"--concurrency={concurrency}", "--hypothesis-seed=7",
    ]  # fmt: skip
    env = dict(ENV, OAUTH2_BENCH_TIMELINE=str(timeline), PYTHONPATH=str(Path(__file__).resolve().parent))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=folder, timeout=RUN_TIMEOUT, check=False, env=env
    )
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    one = [folder / run_id / "certification.json"]
    docs = one if len(configs) == 1 else sorted((folder / run_id).glob("*/certification.json"))
    if not docs or not docs[0].is_file():
        raise RuntimeError(f"suite run failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    records = [r for doc in docs for r in json.loads(doc.read_text(encoding="utf-8"))["requirements"]]
    rows = [json.loads(line) for line in timeline.read_text(encoding="utf-8").splitlines()] if timeline.exists() else []
    durations = {re.sub(r"^[^/]+/", "", row["id"]): row["end"] - row["start"] for row in rows}
    return Run(wall, cpu, records, durations, done.stdout)


@dataclass
class Bound:
    network: float  # sum(exclusive chains) + the longest shared chain, of the slowest target
    total_exchanges: int


def bound(run: Run, rtt: float) -> Bound:
    """The critical-path bound of a sequential run's targets (see the module docstring)."""
    requirements = {(r.profile, r.id): r for p in load_profiles().values() for r in p.requirements}
    by_target: dict[str, list[tuple[bool, float]]] = {}
    for record in run.records:
        if record["verdict"] in {"not run", "not applicable"} and not record["exchanges"]:
            continue
        requirement = requirements[(record["profile"], record["id"])]
        by_target.setdefault(record["profile"], []).append((isolated(requirement), record["exchanges"] * rtt))
    worst = 0.0
    for chains in by_target.values():
        alone = sum(c for exclusive, c in chains if exclusive)
        shared = max((c for exclusive, c in chains if not exclusive), default=0.0)
        worst = max(worst, alone + shared)
    return Bound(worst, sum(int(r["exchanges"]) for r in run.records))


def configs_for(folder: Path, port: int, profiles: list[str]) -> list[Path]:
    files = []
    for profile in profiles:
        path = folder / f"{profile}.yaml"
        path.write_text(yaml.safe_dump(reference_config(profile, f"http://127.0.0.1:{port}/{profile}")), "utf-8")
        files.append(path)
    return files


def measure(label: str, profiles: list[str], levels: list[int], args: argparse.Namespace, root: Path) -> None:
    sequential: Run | None = None
    for concurrency in levels:
        folder = Path(tempfile.mkdtemp(dir=root, prefix=f"{label}-{concurrency}-"))
        with served(args.latency_ms) as port:
            rtt = round_trip(port)
            run = suite(folder, configs_for(folder, port, profiles), concurrency, args.examples)
        if sequential is None:
            sequential = run
        limits = bound(sequential, rtt)
        same = "same verdicts" if run.verdicts() == sequential.verdicts() else "VERDICTS DIFFER"
        counts: dict[str, int] = {}
        for verdict in run.verdicts().values():
            counts[verdict] = counts.get(verdict, 0) + 1
        print(
            f"[{label} +{args.latency_ms:g} ms] --concurrency {concurrency:<2} {run.wall:6.1f} s wall "
            f"(x{sequential.wall / run.wall:4.1f} vs sequential); bound {limits.network:5.1f} s "
            f"(wall/bound {run.wall / limits.network:4.1f}); "
            f"cpu {run.cpu:5.1f} s; rtt {rtt * 1000:4.0f} ms; {limits.total_exchanges} exchanges; {same}; "
            + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())),
            flush=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=float, default=40.0)
    parser.add_argument("--profiles", default=",".join(PROFILES))
    parser.add_argument("--concurrency", default="1,8", help="levels to run; the first is the baseline (1)")
    parser.add_argument("--examples", default="quick")
    parser.add_argument("--skip-each", action="store_true", help="only the run of all profiles at once")
    parser.add_argument("--skip-all", action="store_true", help="only the runs of one profile each")
    args = parser.parse_args()
    levels = [int(n) for n in args.concurrency.split(",")]
    if levels[0] != 1:
        levels.insert(0, 1)
    profiles = args.profiles.split(",")
    # Warm the bytecode cache first, so the first measured run does not compile every module.
    warm = [sys.executable, "-m", "pytest", "--co", "-q", "--conformance", "-p", "no:cacheprovider"]
    subprocess.run(warm, capture_output=True, env=ENV, timeout=RUN_TIMEOUT, check=False, cwd=tempfile.gettempdir())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if not args.skip_each:
            for profile in profiles:
                measure(profile, [profile], levels, args, root)
        if not args.skip_all and len(profiles) > 1:
            measure(f"all {len(profiles)}", profiles, levels, args, root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
