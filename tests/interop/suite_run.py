"""Run the conformance suite against an interop server in a child pytest, and read its verdicts.

Why a child process: the interop tests assert on the verdict of every requirement, and several
test functions share one run (one run takes tens of seconds against a real server). The verdicts
come from the run's certification.json, the report's own record, so nothing here re-decides them.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

RUN_TIMEOUT = 120.0  # seconds; a run against the interop servers takes well under a minute
FRESH_CODE = Path(__file__).with_name("fresh_code.py")


def fresh_code_command(authorize_url: str, username: str) -> str:
    """The code_command that gets each code through the server's own login and consent pages
    (fresh_code.py); its password goes in FRESH_CODE_PASSWORD, in run_suite's `env`."""
    return shlex.join([sys.executable, str(FRESH_CODE), authorize_url, "--username", username])


@dataclass(frozen=True)
class Verdicts:
    """requirement ID -> (verdict, reason), its level (MUST, SHOULD, ...), and what the run printed."""

    verdicts: dict[str, tuple[str, str]]
    levels: dict[str, str]
    output: str
    exit_status: int

    def with_verdict(self, verdict: str) -> set[str]:
        return {rid for rid, (v, _) in self.verdicts.items() if v == verdict}

    def with_level(self, level: str) -> set[str]:
        return {rid for rid, lv in self.levels.items() if lv == level}

    def reason(self, rid: str) -> str:
        return self.verdicts[rid][1]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for verdict, _ in self.verdicts.values():
            out[verdict] = out.get(verdict, 0) + 1
        return out


def seed_option() -> list[str]:
    """A fixed Hypothesis seed, so CI's verdicts on a real server do not depend on the draw: the exact
    deviation lists are a regression gate. OAUTH2_INTEROP_SEED=random explores, as a user's run does."""
    seed = os.environ.get("OAUTH2_INTEROP_SEED", "20261201")
    return [] if seed == "random" else [f"--hypothesis-seed={seed}"]


def run_suite(
    target: str, config: str, workdir: Path, run_id: str = "interop", env: Mapping[str, str] | None = None
) -> Verdicts:
    """`pytest --target=TARGET --target-config=<config>` in `workdir`; bounded by RUN_TIMEOUT. `env` is
    added to the child's environment (a code_command gets it in turn)."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_file = workdir / "target.yaml"
    config_file.write_text(config, encoding="utf-8")
    reports = workdir / "reports"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "-rfEs",
        f"--target={target}",
        f"--target-config={config_file}",
        f"--reports-dir={reports}",
        f"--run-id={run_id}",
        *seed_option(),
    ]
    done = subprocess.run(
        command,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
        env={**os.environ, **(env or {})},
    )
    output = done.stdout + done.stderr
    certification = reports / run_id / "certification.json"
    if not certification.is_file():
        raise RuntimeError(f"the suite wrote no certification.json (exit {done.returncode}):\n{output}")
    data = json.loads(certification.read_text(encoding="utf-8"))
    verdicts = {str(r["id"]): (str(r["verdict"]), str(r["reason"])) for r in data["requirements"]}
    levels = {str(r["id"]): str(r["level"]) for r in data["requirements"]}
    return Verdicts(verdicts, levels, output, done.returncode)
