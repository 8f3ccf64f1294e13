"""`oauth2-conformance diff RUN_A RUN_B`: what regressed and what improved between two runs.

Verdicts are ranked pass > warning > not run > fail = error: moving down is a regression (a
requirement that passed and now does not run has lost its guarantee, so that counts too), moving
up an improvement, fail <-> error a change. Requirements in only one run are listed, not judged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from conformance.report import certification
from conformance.report.certification import Certification, RequirementRecord
from conformance.report.run_dir import RunDir

RANK = {"pass": 4, "not applicable": 4, "warning": 3, "not run": 2, "fail": 0, "error": 0}


@dataclass(frozen=True)
class Change:
    id: str
    profile: str
    level: str
    before: str
    after: str
    reason: str

    def line(self) -> str:
        why = f"  ({self.reason})" if self.reason and self.after != "pass" else ""
        return f"  {self.id:<40} {self.profile:<11} {self.level:<6} {self.before} -> {self.after}{why}"


@dataclass(frozen=True)
class RunDiff:
    regressed: list[Change]
    improved: list[Change]
    changed: list[Change]
    only_a: list[str]
    only_b: list[str]


def compare(a: Certification, b: Certification) -> RunDiff:
    before = _by_id(a["requirements"])
    after = _by_id(b["requirements"])
    regressed: list[Change] = []
    improved: list[Change] = []
    changed: list[Change] = []
    for rid, old in before.items():
        new = after.get(rid)
        if new is None or new["verdict"] == old["verdict"]:
            continue
        change = Change(rid, new["profile"], new["level"], old["verdict"], new["verdict"], new["reason"])
        delta = RANK.get(new["verdict"], 0) - RANK.get(old["verdict"], 0)
        (regressed if delta < 0 else improved if delta > 0 else changed).append(change)
    return RunDiff(
        regressed,
        improved,
        changed,
        [rid for rid in before if rid not in after],
        [rid for rid in after if rid not in before],
    )


def _by_id(records: list[RequirementRecord]) -> Mapping[str, RequirementRecord]:
    return {r["id"]: r for r in records}


def diff_runs(run_a: str | Path, run_b: str | Path, out: IO[str]) -> int:
    """Print the diff; 1 if anything regressed, else 0."""
    dir_a, dir_b = RunDir.locate(run_a), RunDir.locate(run_b)
    a, b = certification.load(dir_a.certification), certification.load(dir_b.certification)
    result = compare(a, b)
    out.write(f"A: {dir_a.path}  ({a['run_id']}, {a['target']}, verdict {a['verdict']})\n")
    out.write(f"B: {dir_b.path}  ({b['run_id']}, {b['target']}, verdict {b['verdict']})\n")
    for title, changes in (("regressed", result.regressed), ("improved", result.improved), ("changed", result.changed)):
        out.write(f"{title}: {len(changes)}\n")
        out.writelines(change.line() + "\n" for change in changes)
    for title, only in (("only in A", result.only_a), ("only in B", result.only_b)):
        if only:
            out.write(f"{title}: {', '.join(only)}\n")
    return 1 if result.regressed else 0
