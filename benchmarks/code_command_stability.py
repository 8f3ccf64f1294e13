"""Do pytest and the report agree, run after run, when codes come from `code_command` and the
target answers slowly? Issue 9's scenario: an independent server ~40 ms away, codes printed by curl.

    python benchmarks/code_command_stability.py --runs 10 --latency-ms 40

Starts `oauth2-conformance serve --latency-ms N` (127.0.0.1, stopped by PID at the end), then runs
each profile RUNS times with `--target-config` whose code_command is `curl` on the server's
/_test/code (rfc6749: the contract's JSON code_command, tests/fixtures/code_source.py, with its
login steps kept for the authorization-endpoint requirements). Every run must exit 0, certified,
and for every requirement pytest's outcome (from JUnit) must match certification.json's verdict.
Prints one line per run.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conformance.servers import PROFILES, reference_config

CODE_SOURCE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "code_source.py"
EXPECTED = {"pass": "passed", "warning": "passed", "fail": "failure", "not run": "skipped", "not applicable": "skipped"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def junit_outcomes(path: Path) -> dict[str, str]:
    outcomes: dict[str, str] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        kind = next((child.tag for child in case if child.tag in {"failure", "error", "skipped"}), "passed")
        outcomes[case.get("name", "")] = kind
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=40.0)
    parser.add_argument("--profile", action="append", help="default: every profile")
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "conformance.tools.cli",
            "serve",
            "--port",
            str(port),
            "--latency-ms",
            str(args.latency_ms),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    bad = 0
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        with tempfile.TemporaryDirectory() as folder:
            for profile in args.profile or PROFILES:
                url = f"http://127.0.0.1:{port}/{profile}"
                config = reference_config(profile, url)
                config.pop("code_url", None)
                if "login" in config:  # rfc6749: a code_command to the contract (JSON naming what it used)
                    config["code_command"] = f"{sys.executable} {CODE_SOURCE} {url}/_test/authorize"
                else:  # the vendor profiles: a bare code, as their SDK-side tooling would print
                    config["code_command"] = f"curl -sS {url}/_test/code"
                path = Path(folder) / f"{profile}.yaml"
                path.write_text(yaml.safe_dump(config), encoding="utf-8")
                for run in range(1, args.runs + 1):
                    started = time.monotonic()
                    done = subprocess.run(
                        [
                            sys.executable,
                            "-m",
                            "pytest",
                            "-p",
                            "no:cacheprovider",
                            "-q",
                            f"--target-config={path}",
                            "--reports-dir",
                            folder,
                            "--run-id",
                            f"{profile}-{run}",
                        ],
                        cwd=folder,
                        capture_output=True,
                        text=True,
                        timeout=600,
                        check=False,
                    )
                    run_dir = Path(folder) / f"{profile}-{run}"
                    doc = json.loads((run_dir / "certification.json").read_text(encoding="utf-8"))
                    junit = junit_outcomes(run_dir / "junit.xml")
                    disagree = [
                        r["id"]
                        for r in doc["requirements"]
                        if r["selected"] and junit.get(r["id"]) != EXPECTED.get(r["verdict"], "error")
                    ]
                    ok = done.returncode == 0 and doc["certified"] and not disagree
                    bad += not ok
                    print(
                        f"{profile:<11} run {run:2d}: exit {done.returncode}, {doc['verdict']:<10} "
                        f"{time.monotonic() - started:5.1f} s, disagreements {disagree or 'none'}",
                        flush=True,
                    )
                    for record in doc["requirements"]:
                        if record["verdict"] in {"fail", "error"} or (record["blocking"] and not ok):
                            print(f"    {record['id']}: {record['verdict']}: {record['reason'][:300]}", flush=True)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    print(f"{bad} bad runs")
    return 1 if bad else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())
