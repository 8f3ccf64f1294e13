"""The five-minute path, end to end: against each reference server started with
`oauth2-conformance serve`, from an empty folder, `oauth2-conformance init URL` writes the config,
exporting the variables it names is the only other step, and `pytest --target-config=FILE` then
certifies the profile.

init is never told the credentials: the test exports them, under the names init chose, from the
reference servers' own config (conformance/servers/registry.py)."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
import yaml

from conformance.servers import PROFILES, reference_config

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-c", "import sys; from conformance.tools.cli import main; sys.exit(main())"]
# The consent page comes after the login page, and init signs in as no one, so it cannot name the
# approve button; login steps (conformance/login.py) need its name. See the README.


def _pump(stream: IO[str] | None, lines: queue.Queue[str]) -> None:
    """Hand each line `serve` prints to the test, as it comes."""
    for line in stream or ():
        lines.put(line)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "OAUTH2_CONFORMANCE_T", "COV_"))}
    return {**env, **extra}


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, str]]:
    """`oauth2-conformance serve --port 0`: every profile on one free port; stopped by its PID."""
    proc = subprocess.Popen(
        [*CLI, "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=clean_env()
    )
    assert proc.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: _pump(proc.stdout, lines), daemon=True).start()
    urls: dict[str, str] = {}
    deadline = time.monotonic() + 30
    try:
        while True:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            found = re.match(r"(\w+): (http://127\.0\.0\.1:\d+/\w+) ", line)
            if found:
                urls[found.group(1)] = found.group(2)
            elif line.startswith("Ctrl-C"):
                break
        assert set(urls) == set(PROFILES)
        yield urls
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def exports(config: dict[str, object], reference: dict[str, object]) -> dict[str, str]:
    """What the user exports: each ${VAR} of the config, the reference server's value for its key."""
    values: dict[str, str] = {}
    for key, value in config.items():
        if isinstance(value, str) and (var := re.fullmatch(r"\$\{(\w+)\}", value)):
            values[var.group(1)] = str(reference[key])
        elif key == "clients" and isinstance(value, dict):
            for name, client in value.items():
                for field, ref in client.items():
                    var = re.fullmatch(r"\$\{(\w+)\}", ref)
                    values[var.group(1)] = str(reference["clients"][name][field])  # type: ignore[union-attr,index]
        elif key == "params" and isinstance(value, dict):
            for name, ref in value.items():
                values[re.fullmatch(r"\$\{(\w+)\}", ref).group(1)] = str(reference["params"][name])  # type: ignore[union-attr,index]
    return values


@pytest.mark.parametrize(
    "profile",
    PROFILES,
)
def test_init_then_export_then_certified(served: dict[str, str], profile: str, tmp_path: Path) -> None:
    url = served[profile]
    work = tmp_path / "empty"
    work.mkdir()
    init = subprocess.run([*CLI, "init", url], cwd=work, capture_output=True, text=True, timeout=90, env=clean_env())
    assert init.returncode == 0, init.stderr
    assert f"profile: {profile}" in init.stdout
    config_file = work / f"{profile}.yaml"
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    assert config["target"] == url and config["profile"] == profile

    env = exports(config, reference_config(profile, url))
    named = re.search(r"^export before running: (.*)$", init.stdout, re.M)
    assert set(named.group(1).split() if named else []) == set(env)
    assert "secret-1" not in config_file.read_text(encoding="utf-8")  # init never learnt a credential

    run = subprocess.run(
        [sys.executable, "-m", "pytest", f"--target-config={config_file.name}"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(**env),
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    (certification,) = (work / "reports").glob("*/certification.json")
    verdict = yaml.safe_load(certification.read_text(encoding="utf-8"))
    undecided = [(r["id"], r["verdict"], r["reason"]) for r in verdict["requirements"] if r["verdict"] != "pass"]
    assert verdict["verdict"] == "pass", undecided
