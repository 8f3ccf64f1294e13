"""The CI gate: which outcomes fail the run, and what the baseline absorbed or no longer needs.

Rules (the exit status is 0 only if `passed`):
- a `fail` or `error` of a selected requirement fails the run, unless the baseline lists it as an
  expected failure (an `error` is never absorbed: the suite could not check, so nothing is known);
- a selected non-advisory MUST requirement that did not run keeps the certification `incomplete`
  and is listed loudly; it fails the run only in certification mode (`--certify`, and
  `oauth2-conformance run`), as pytest users expect a skip not to fail a run; requirements the user
  deselected (`-k`) are reported `not run` but never fail the gate;
- a baseline entry that now passes (stale) or never ran is flagged loudly in the terminal and in
  certification.json, but does not fail the run: an improvement should not break a pipeline, and
  the flag tells the team to shrink the baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from conformance.report.baseline import Baseline
from conformance.report.certification import RequirementRecord

STILL_FAILING = {"fail", "warning"}


@dataclass(frozen=True)
class Gate:
    failures: tuple[str, ...]  # fail or error, not absorbed by the baseline
    must_not_run: tuple[str, ...]  # selected non-advisory MUSTs without a verdict
    expected: tuple[str, ...]  # baselined and still failing
    stale: tuple[str, ...]  # baselined but passing now: remove from the baseline
    never_ran: tuple[str, ...]  # baselined but not run in this session
    certify: bool = False  # certification mode: an undecided MUST fails the run

    @property
    def passed(self) -> bool:
        return not self.failures and not (self.certify and self.must_not_run)

    def to_json(self, exit_status: int) -> dict[str, Any]:
        return {"exit_status": exit_status, "passed": self.passed, **asdict(self)}


def evaluate(records: Sequence[RequirementRecord], baseline: Baseline | None, *, certify: bool = False) -> Gate:
    """Apply the rules above to one run's records (a baseline entry of an unselected profile never ran)."""
    failures: list[str] = []
    must_not_run: list[str] = []
    expected: list[str] = []
    stale: list[str] = []
    never_ran: list[str] = []
    listed = baseline.reasons if baseline is not None else {}
    for record in records:
        rid, status = record["id"], record["verdict"]
        in_baseline = rid in listed
        if in_baseline:
            if status in STILL_FAILING:
                expected.append(rid)
            elif status == "pass":
                stale.append(rid)
            elif status in {"not run", "not applicable"}:
                never_ran.append(rid)
        if not record["selected"]:
            continue
        if status == "error" or (status == "fail" and not in_baseline):
            failures.append(rid)
        elif status == "not run" and record["blocking"] and not in_baseline:
            must_not_run.append(rid)
    seen = {r["id"] for r in records}
    never_ran.extend(rid for rid in listed if rid not in seen)
    return Gate(tuple(failures), tuple(must_not_run), tuple(expected), tuple(stale), tuple(never_ran), certify)
