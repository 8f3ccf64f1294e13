"""How many targets one machine certifies, and what a many-target run costs in memory (issue 19).

Starts `oauth2-conformance serve` (every profile, one port) as a separate process, writes N target
configs (profiles in turn) into a temporary folder, and runs `oauth2-conformance run
--target-config=FOLDER` once, in a child process whose peak RSS (`wait4`'s ru_maxrss), CPU time
and wall time are read when it ends. From those it states targets per hour on this machine, and,
from the CPU share of the wall time, whether a second machine (a shard) would help: a run that
uses one core fully is CPU-bound, and a shard on another machine divides its wall time; a run
that waits on the network gains as much from concurrency inside one process.

    python benchmarks/fleet_capacity.py --targets 50     # the issue's bound: peak RSS under 300 MiB

Bounded: one suite run, the server stopped by its PID, every file in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from conformance.servers import PROFILES, reference_config

COMMAND = [sys.executable, "-m", "conformance"]


def serve() -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen([*COMMAND, "serve", "--port", "0"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    urls: dict[str, str] = {}
    deadline = time.monotonic() + 30
    for line in proc.stdout:
        found = re.match(r"(\w+): (http://127\.0\.0\.1:\d+/\w+) ", line)
        if found:
            urls[found.group(1)] = found.group(2)
        if line.startswith("Ctrl-C") or time.monotonic() > deadline:
            break
    return proc, urls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", type=int, default=50)
    args = parser.parse_args()
    server, urls = serve()
    try:
        with tempfile.TemporaryDirectory(prefix="oauth2-fleet-") as tmp:
            folder = Path(tmp) / "fleet"
            folder.mkdir()
            names = sorted(PROFILES)
            for i in range(args.targets):
                profile = names[i % len(names)]
                config = reference_config(profile, urls[profile])
                (folder / f"t{i:03d}-{profile}.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
            started = time.monotonic()
            child = subprocess.Popen(
                [*COMMAND, "run", "-q", f"--target-config={folder}", "-p", "no:randomly"],
                cwd=tmp,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            assert child.stdout is not None
            tail = child.stdout.read().splitlines()[-3:]
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = os.waitstatus_to_exitcode(status)
            wall = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=10)
    cpu = usage.ru_utime + usage.ru_stime
    peak_mib = usage.ru_maxrss / 1024  # Linux: KiB
    print("\n".join(tail))
    print(
        f"{args.targets} targets in one process: exit {child.returncode}, wall {wall:.1f} s, "
        f"CPU {cpu:.1f} s ({cpu / wall:.0%} of one core), peak RSS {peak_mib:.0f} MiB"
    )
    print(
        f"one machine, this way: {args.targets / wall * 3600:.0f} targets an hour "
        f"({wall / args.targets:.2f} s and {peak_mib / args.targets:.1f} MiB of peak per target)"
    )
    if cpu / wall > 0.8:
        print("CPU-bound (the embedded servers answer at once): shards on other machines divide the wall time")
    else:
        print("waiting on the network: concurrency inside one process pays before a second machine does")
    return 0 if child.returncode in (0, 1) and peak_mib < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
