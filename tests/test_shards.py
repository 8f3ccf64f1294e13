"""`--shard K/N` and `report merge`: shards run as separate processes, merged, give one run's verdicts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.engine.shards import Shard, assign
from conformance.model.errors import ConfigError
from conformance.report.merge import merge

COMMAND = [sys.executable, "-m", "conformance"]
MUTANT = "yixin:code_reusable"  # so the merged verdicts hold a failure, not only passes


def test_the_split_is_deterministic_balanced_and_whole() -> None:
    weights = {f"r{i}": (10 if i % 7 == 0 else 1) for i in range(40)}
    first, again = assign(weights, 3), assign(dict(reversed(list(weights.items()))), 3)
    assert first == again  # every machine computes the same split, whatever order it collected in
    assert set(first.values()) == {1, 2, 3}
    loads = [sum(w for unit, w in weights.items() if first[unit] == k) for k in (1, 2, 3)]
    assert max(loads) - min(loads) <= max(weights.values())


@pytest.mark.parametrize("value", ["0/2", "3/2", "2", "a/b", "1/0"])
def test_a_bad_shard_is_one_line(value: str) -> None:
    with pytest.raises(ConfigError, match="--shard"):
        Shard.parse(value)


def _run(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*COMMAND, "run", "-q", "--profile", "yixin", f"--reference-fault={MUTANT}", "-p", "no:randomly", *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _verdicts(folder: Path) -> dict[str, str]:
    doc = json.loads((folder / "certification.json").read_text(encoding="utf-8"))
    return {r["id"]: r["verdict"] for r in doc["requirements"]}


@pytest.mark.slow
def test_shards_in_separate_processes_merge_into_the_verdicts_of_one_run(tmp_path: Path) -> None:
    seed = "--hypothesis-seed=7"
    shards = [_run(tmp_path, f"--shard={k}/2", f"--run-id=s{k}", seed) for k in (1, 2)]  # side by side
    whole = _run(tmp_path, "--run-id=whole", seed)
    outputs = [p.communicate(timeout=300)[0] for p in (*shards, whole)]
    assert whole.returncode == 1 and 1 in {p.returncode for p in shards}, outputs
    reports = tmp_path / "reports"
    one = _verdicts(reports / "s1")
    assert "not run" in one.values(), outputs[0]  # each shard decided only its share
    merged, passed = merge([reports / "s1", reports / "s2"], tmp_path / "merged")
    assert _verdicts(merged) == _verdicts(reports / "whole")
    assert _verdicts(merged)["YX-CODE-SINGLE-USE"] == "fail"
    assert passed is False  # the mutant fails the merged gate, as it fails the single run
    assert (merged / "summary.html").is_file()
    again = subprocess.run(
        [*COMMAND, "report", "merge", str(reports / "s1"), str(reports / "s2"), "--output", str(tmp_path / "merged")],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 4 and "already holds files" in again.stderr and "Traceback" not in again.stderr
