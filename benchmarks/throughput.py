"""Throughput on one reference server, side by side, and the latency-bound case with pytest-xdist.

    python benchmarks/throughput.py                         # everything, defaults below
    python benchmarks/throughput.py --skip-latency          # the side-by-side part only
    python benchmarks/throughput.py --schemathesis /path/to/venv/bin/schemathesis

Part 1, one reference server (its own process, `oauth2-conformance serve`), one profile, `--rounds`
times on a fresh server (the first in a fresh folder, cold; the rest warm), each round side by side:
  * the httpx floor: a plain httpx.Client loop posting token requests, `--seconds`/2 before the
    suite and as long after it;
  * the suite: `pytest --target-config` with `--examples 100`; validated exchanges per second are
    the requests it made over pytest's own session time (collection, checks, report included);
  * Schemathesis CLI on the same spec (optional: skipped, saying so, when it is not installed).
Part 2, the same server behind benchmarks/latency_proxy.py (+`--latency-ms` per exchange): the
suite sequentially and with `-n 2/4/8`, a fresh server for each run (the clock checks move its
clock), with the proxy's peak number of connections.

Every run is bounded: subprocess timeouts, a time-bounded floor loop, a proxy with a connection cap.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import yaml

from conformance.model.spec import load_profiles

sys.path.insert(0, str(Path(__file__).resolve().parent))
from latency_proxy import LatencyProxy

from conformance.servers import reference_config

ROOT = Path(__file__).resolve().parent.parent
RUN_TIMEOUT = 900
# Bytecode caching on, as on a developer's machine or a CI cache: a sandbox that sets
# PYTHONDONTWRITEBYTECODE=1 recompiles every module (and re-rewrites the plugin's asserts) in every
# process, about 0.6 s more per pytest process, which would be charged to each xdist worker.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV.setdefault("PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "oauth2-conformance-pycache"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def served(profile: str) -> Iterator[int]:
    """A reference server in its own process (so it never shares a GIL with what measures it)."""
    port = free_port()
    command = [sys.executable, "-m", "conformance", "serve", "--profile", profile, "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
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


def floor(url: str, seconds: float, limit: int = 200_000) -> float:
    """Requests per second of a plain httpx loop (token requests with a bad code: a 400 each)."""
    form = {"client_id": "app-1", "client_secret": "secret-1", "grant_type": "authorization_code", "code": "nope"}
    with httpx.Client() as client:
        client.post(url, data=form)
        count, started = 0, time.monotonic()
        while count < limit and time.monotonic() - started < seconds:
            client.post(url, data=form)
            count += 1
        return count / (time.monotonic() - started)


def suite(profile: str, base: str, folder: Path, *extra: str) -> dict[str, float]:
    """One pytest run against `base`; requests, pytest's session time, wall time, verdicts."""
    config = reference_config(profile, base)
    config_file = folder / f"{profile}.yaml"
    config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
    run_id = f"run-{time.monotonic_ns()}"
    timeline = folder / f"{run_id}.timeline"
    command = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "timeline_plugin", "-q",
        f"--target-config={config_file}", f"--reports-dir={folder}", f"--run-id={run_id}", *extra,
    ]  # fmt: skip
    env = dict(ENV, OAUTH2_BENCH_TIMELINE=str(timeline), PYTHONPATH=str(Path(__file__).resolve().parent))
    started_at = time.time()
    started = time.monotonic()
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=folder, timeout=RUN_TIMEOUT, check=False, env=env
    )
    wall = time.monotonic() - started
    rows = [json.loads(line) for line in timeline.read_text(encoding="utf-8").splitlines()] if timeline.exists() else []
    first = min((r["start"] for r in rows), default=started_at)
    last = max((r["end"] for r in rows), default=started_at + wall)
    requests = re.search(r"(\d+) requests to the target", done.stdout)
    session = re.search(r" in ([\d.]+)s", done.stdout)
    if requests is None or session is None:
        raise RuntimeError(f"suite run failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    doc = json.loads((folder / run_id / "certification.json").read_text(encoding="utf-8"))
    verdicts: dict[str, int] = {}
    for record in doc["requirements"]:
        verdicts[record["verdict"]] = verdicts.get(record["verdict"], 0) + 1
    return {
        "requests": int(requests.group(1)),
        "session": float(session.group(1)),
        "wall": wall,
        "startup": first - started_at,  # interpreter, imports, collection, workers ready
        "deciding": last - first,  # first requirement started to last one ended
        **verdicts,
    }


def schemathesis(executable: str | None, profile: str, base: str, seconds: float, folder: Path) -> str:
    """Schemathesis CLI's test cases (one request each) per second of its own run, or why it was skipped."""
    found = executable or shutil.which("schemathesis") or shutil.which("st")
    if not found:
        return "skipped: Schemathesis is not installed (optional; give --schemathesis PATH)"
    spec = ROOT / "specs" / f"{profile}.yaml"
    # Every test case, not just up to the first finding; only 5xx counts as a failure.
    command = [found, "run", str(spec), "--url", base, "-n", "100", "--continue-on-failure", "-c", "not_a_server_error"]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=max(seconds * 20, 120), check=False, cwd=folder
        )
    except subprocess.TimeoutExpired:
        return "timed out"
    out = done.stdout + done.stderr
    cases = re.search(r"(\d+) generated", out)
    took = re.search(r" in ([\d.]+)s =", out)
    if cases is None or took is None:
        return f"reported no test-case count (exit {done.returncode}): {out[-300:]!r}"
    count, elapsed = int(cases.group(1)), float(took.group(1))
    return f"{count / elapsed:,.0f} requests/s ({count} test cases in {elapsed:.2f} s, its own timing)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="yixin", help="profile of the side-by-side part (default yixin)")
    parser.add_argument("--examples", default="100")
    parser.add_argument(
        "--seconds", type=float, default=4.0, help="length of the floor loop, half before the suite, half after"
    )
    parser.add_argument("--rounds", type=int, default=5, help="side-by-side rounds: the first cold, the rest warm")
    parser.add_argument("--schemathesis", metavar="PATH", help="the Schemathesis CLI (default: on PATH)")
    parser.add_argument("--latency-ms", type=float, default=25.0)
    parser.add_argument("--latency-profiles", default="ekuaibao,rfc6749")
    parser.add_argument("--latency-examples", default="quick")
    parser.add_argument("--workers", default="2,4,8")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if not args.skip_throughput:
            profile = args.profile
            warm: list[float] = []
            for round_ in range(1, args.rounds + 1):
                # A fresh server each round (what a run leaves on it, thousands of codes, is not the
                # next one's to pay); the floor just before and just after the suite, on the same
                # server, so each ratio is side by side even when the machine's speed drifts.
                with served(profile) as port:
                    base = f"http://127.0.0.1:{port}/{profile}"
                    token_url = f"{base}/oauth/token" if profile == "yixin" else _token_url(profile, base)
                    before = floor(token_url, args.seconds / 2)
                    run = suite(profile, base, folder, "--examples", args.examples, "-p", "no:xdist")
                    after = floor(token_url, args.seconds / 2)
                rate = (before + after) / 2
                speed = run["requests"] / run["session"]
                # cold: a fresh folder, where Hypothesis first builds its unicode tables (.hypothesis/);
                # warm: the same folder again, as every later run in a checkout or a cached CI job.
                state = "cold" if round_ == 1 else "warm"
                if state == "warm":
                    warm.append(speed / rate)
                print(
                    f"[{profile}] round {round_} ({state}): httpx floor {before:,.0f} / {after:,.0f} requests/s; "
                    f"suite --examples {args.examples} {speed:,.0f} validated exchanges/s "
                    f"({run['requests']:.0f} in {run['session']:.2f} s); {speed / rate:.2f}x the floor",
                    flush=True,
                )
            if warm:
                print(
                    f"[{profile}] warm rounds: {' '.join(f'{r:.2f}x' for r in warm)}; "
                    f"median {statistics.median(warm):.2f}x the floor",
                    flush=True,
                )
            with served(profile) as port:
                anchor = schemathesis(
                    args.schemathesis, profile, f"http://127.0.0.1:{port}/{profile}", args.seconds, folder
                )
            print(f"[{profile}] schemathesis: {anchor}")
        if args.skip_latency:
            return 0
        for profile in args.latency_profiles.split(","):
            sequential = deciding = None
            for workers in [1, *(int(n) for n in args.workers.split(","))]:
                with served(profile) as port, LatencyProxy(port, args.latency_ms / 1000, max_connections=64) as proxy:
                    base = f"http://127.0.0.1:{proxy.port}/{profile}"
                    extra = ["-p", "no:xdist"] if workers == 1 else ["-n", str(workers)]
                    run = suite(profile, base, folder, "--examples", args.latency_examples, *extra)
                    sequential = sequential or run["wall"]
                    deciding = deciding or run["deciding"]
                    label = "sequential" if workers == 1 else f"-n {workers}"
                    verdicts = ", ".join(f"{run[k]:.0f} {k}" for k in ("pass", "fail", "not run", "error") if k in run)
                    print(
                        f"[{profile} +{args.latency_ms:g} ms] {label:<10} {run['wall']:5.1f} s wall, "
                        f"speedup {sequential / run['wall']:.2f}x; start-up {run['startup']:4.1f} s, "
                        f"deciding {run['deciding']:4.1f} s (speedup {deciding / run['deciding']:.2f}x); "
                        f"{run['requests']:.0f} requests, peak {proxy.stats.peak} connections "
                        f"({proxy.stats.connections} opened, {proxy.stats.refused} refused); {verdicts}",
                        flush=True,
                    )
    return 0


def _token_url(profile: str, base: str) -> str:
    """The profile's first documented path (the spec's OpenAPI `paths`), under the server's base URL."""
    spec = load_profiles()[profile]
    return base + next(iter(spec.raw.get("paths", {})), "/token")


if __name__ == "__main__":
    sys.exit(main())
