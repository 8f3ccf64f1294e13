"""Wall time and peak memory of whole suite runs against the embedded reference servers.

    python benchmarks/suite_runtime.py            # quick (default) and thorough runs, all profiles

Each run is a fresh `oauth2-conformance run` process under /usr/bin/time -v (peak RSS). Numbers
measured on the project's 2-core machine are kept in benchmarks/README.md.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time

RUNS = {
    "quick (default)": [],
    "thorough": ["--examples", "thorough"],
    "thorough x4 (400 examples)": ["--examples", "400"],
}


def measure(extra: list[str]) -> tuple[float, int, str]:
    with tempfile.TemporaryDirectory() as folder:
        command = [
            "/usr/bin/time",
            "-v",
            sys.executable,
            "-m",
            "conformance.tools.cli",
            "run",
            "-q",
            "-p",
            "no:randomly",
            *extra,
        ]
        started = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True, cwd=folder, check=False)
        elapsed = time.monotonic() - started
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    summary = next((line for line in reversed(done.stdout.splitlines()) if " in " in line), "")
    return elapsed, int(rss.group(1)) if rss else -1, summary.strip("= ")


def main() -> int:
    for name, extra in RUNS.items():
        elapsed, rss_kb, summary = measure(extra)
        print(f"{name:<28} {elapsed:6.1f} s  peak RSS {rss_kb / 1024:6.1f} MiB  ({summary})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
