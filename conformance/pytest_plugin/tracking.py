"""What pytest did with each requirement's item: collected, deselected, skipped, errored, run.

The verdicts the checks record say what the target did; this says why a requirement has no
verdict, so the report can call it `not run` with a reason instead of leaving a gap (or a green).
"""

from __future__ import annotations

import pytest

from conformance.engine.verdicts import ItemTrace


class Tracker:
    """Item facts by requirement ID."""

    def __init__(self) -> None:
        self.traces: dict[str, ItemTrace] = {}

    def trace(self, requirement_id: str) -> ItemTrace:
        return self.traces.setdefault(requirement_id, ItemTrace())

    def collected(self, requirement_id: str, nodeid: str) -> None:
        trace = self.trace(requirement_id)
        if nodeid not in trace.nodeids:
            trace.nodeids.append(nodeid)

    def deselected(self, requirement_id: str, nodeid: str) -> None:
        self.collected(requirement_id, nodeid)
        self.trace(requirement_id).deselected = True

    def report(self, requirement_id: str, report: pytest.TestReport, *, decided: bool) -> None:
        trace = self.trace(requirement_id)
        self.collected(requirement_id, report.nodeid)
        trace.ran = True
        if decided and report.nodeid not in trace.decided_by:
            trace.decided_by.append(report.nodeid)
        if report.skipped and not hasattr(report, "wasxfail"):
            trace.skip_reason = trace.skip_reason or _skip_reason(report)
        elif report.failed and not decided and not trace.error:
            first = next((line for line in report.longreprtext.splitlines() if line.strip()), "")
            trace.error = f"{report.when} failed: {first.strip()[:300]}"


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return reason.removeprefix("Skipped: ")
