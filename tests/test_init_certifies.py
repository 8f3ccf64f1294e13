"""The five-minute path, end to end: against each reference server started with
`oauth2-conformance serve`, from an empty folder, `oauth2-conformance init URL` writes the config,
exporting the variables it names with the values serve printed is the only other step, and
`pytest --target-config=FILE` then certifies the profile. The ready config serve prints certifies
on its own.

init is never told the credentials: the test exports what serve printed, and checks it is what the
reference servers' own config (conformance/servers/registry.py) holds under the names init chose."""

from __future__ import annotations

import os
import queue
import re
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest
import yaml

from conformance.engine.survey import placeholders
from conformance.servers import PROFILES, reference_config

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-c", "import sys; from conformance.tools.cli import main; sys.exit(main())"]


def _pump(stream: IO[str] | None, lines: queue.Queue[str]) -> None:
    """Hand each line `serve` prints to the test, as it comes."""
    for line in stream or ():
        lines.put(line)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "OAUTH2_CONFORMANCE_T", "COV_"))}
    return {**env, **extra}


def exports(config: dict[str, object], reference: dict[str, object]) -> dict[str, str]:
    """What a user would export: each ${VAR} of the config, the reference server's value for its key."""
    values: dict[str, str] = {}
    for key, value in config.items():
        if isinstance(value, str) and (var := re.fullmatch(r"\$\{(\w+)\}", value)):
            values[var.group(1)] = str(reference[key])
        elif key == "clients" and isinstance(value, dict):
            for name, client in value.items():
                for field_name, ref in client.items():
                    var = re.fullmatch(r"\$\{(\w+)\}", ref)
                    values[var.group(1)] = str(reference["clients"][name][field_name])  # type: ignore[union-attr,index]
        elif key == "params" and isinstance(value, dict):
            for name, ref in value.items():
                values[re.fullmatch(r"\$\{(\w+)\}", ref).group(1)] = str(reference["params"][name])  # type: ignore[union-attr,index]
    return values


@dataclass
class Served:
    """What `oauth2-conformance serve` printed: each profile's URL, export line and ready config."""

    urls: dict[str, str] = field(default_factory=dict)
    exports: dict[str, dict[str, str]] = field(default_factory=dict)
    configs: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """`oauth2-conformance serve --port 0`: every profile on one free port; stopped by its PID."""
    proc = subprocess.Popen(
        [*CLI, "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=clean_env()
    )
    assert proc.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: _pump(proc.stdout, lines), daemon=True).start()
    out = Served()
    profile = ""
    block: list[str] | None = None  # the lines of the ready config being read
    deadline = time.monotonic() + 60
    try:
        while True:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if block is not None:
                if line.startswith(f"# ---- end of {profile}.yaml"):
                    out.configs[profile], block = "".join(block), None
                else:
                    block.append(line)
            elif found := re.match(r"(\w+): (http://127\.0\.0\.1:\d+/\w+) ", line):
                profile = found.group(1)
                out.urls[profile] = found.group(2)
            elif line.startswith("  export "):
                words = shlex.split(line.split("#")[0])[1:]
                out.exports[profile] = dict(word.split("=", 1) for word in words)
            elif found := re.match(r"# ---- (\w+)\.yaml: a ready target config", line):
                profile, block = found.group(1), []
            elif line.startswith("Ctrl-C"):
                break
        assert set(out.urls) == set(out.configs) == set(PROFILES)
        yield out
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def certify(work: Path, config_file: str, env: dict[str, str], args: tuple[str, ...] = ()) -> str:
    """`pytest --target-config=FILE` (or `args`) in `work` certifies the profile: every requirement
    passes. Returns what pytest printed."""
    run = subprocess.run(
        [sys.executable, "-m", "pytest", *(args or (f"--target-config={config_file}",))],
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
    return run.stdout


@pytest.mark.parametrize("profile", PROFILES)
def test_serve_then_init_then_export_then_certified(served: Served, profile: str, tmp_path: Path) -> None:
    """The user's path: the values are the ones serve printed, under the names init asks for."""
    url = served.urls[profile]
    work = tmp_path / "empty"
    work.mkdir()
    init = subprocess.run([*CLI, "init", url], cwd=work, capture_output=True, text=True, timeout=90, env=clean_env())
    assert init.returncode == 0, init.stderr
    assert f"profile: {profile}" in init.stdout
    config_file = work / f"{profile}.yaml"
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    assert config["target"] == url and config["profile"] == profile

    env = served.exports.get(profile, {})
    assert env == exports(config, reference_config(profile, url))  # serve printed every value init asks for
    named = re.search(r"^export before running: (.*)$", init.stdout, re.M)
    assert set(named.group(1).split() if named else []) == set(env)
    assert "secret-1" not in config_file.read_text(encoding="utf-8")  # init never learnt a credential
    certify(work, config_file.name, env)


@pytest.mark.parametrize("profile", PROFILES)
def test_the_ready_config_serve_prints_certifies(served: Served, profile: str, tmp_path: Path) -> None:
    """No init, no exports: the config serve printed, saved as a file, is finished."""
    text = served.configs[profile]
    assert placeholders(text) == []  # nothing left to export
    (tmp_path / f"{profile}.yaml").write_text(text, encoding="utf-8")
    certify(tmp_path, f"{profile}.yaml", {})


@pytest.mark.parametrize("profile", PROFILES)
def test_without_a_profile_the_run_detects_it_and_certifies(served: Served, profile: str, tmp_path: Path) -> None:
    """The config gives the target and no profile (as `--target=URL` alone): the run detects it."""
    text = re.sub(r"^profile: \w+\n", "", served.configs[profile], flags=re.M)
    assert "\nprofile:" not in text
    (tmp_path / "target.yaml").write_text(text, encoding="utf-8")
    certify(tmp_path, "target.yaml", {})


@pytest.mark.parametrize("profile", PROFILES)
def test_target_url_alone_with_the_values_exported_certifies(served: Served, profile: str, tmp_path: Path) -> None:
    """The mission's command: `pytest --target=URL`, no config file, no --profile. The run detects the
    profile, builds the config init would write and reads its variables from the environment."""
    out = certify(tmp_path, "", served.exports.get(profile, {}), (f"--target={served.urls[profile]}",))
    assert f"no --profile given: chose profile {profile} " in out
    assert "no --target-config given" in out and "every value from the environment" in out
    (saved,) = (tmp_path / "reports").glob("*/target-config.yaml")
    text = saved.read_text(encoding="utf-8")
    assert f"profile: {profile}" in text and "secret-1" not in text  # placeholders, never a value


def test_target_url_alone_without_the_values_names_them(served: Served, tmp_path: Path) -> None:
    """Nothing exported: nothing fails; the run names the variables, and the requirements that need
    them are not run."""
    run = subprocess.run(
        [sys.executable, "-m", "pytest", f"--target={served.urls['yixin']}", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert "not in the environment: YIXIN_CLIENT_ID, YIXIN_CLIENT_SECRET" in run.stdout
    assert " failed" not in run.stdout
