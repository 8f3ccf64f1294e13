"""index.json of a run with several targets: each target's outcome, and the run's.

Written by the fleet report at the end of a run and again by `report merge` for joined shards,
from the same two functions, so both indexes say the same things the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conformance.engine.verdicts import worst
from conformance.report.certification import Certification

INDEX = "index.json"
INDEX_FORMAT = "oauth2-conformance/index-1"


def target_entry(name: str, doc: Certification, gate_passed: bool) -> dict[str, Any]:
    """One target's line in the index, read from its certification.json."""
    totals: dict[str, int] = {}
    for profile in doc["profiles"]:
        for verdict, n in profile["totals"].items():
            totals[verdict] = totals.get(verdict, 0) + n
    return {
        "name": name,
        "target": doc["target"],
        "profiles": [p["name"] for p in doc["profiles"]],
        "verdict": doc["verdict"],
        "certified": doc["certified"],
        "gate_passed": gate_passed,
        "exit_status": doc["gate"]["exit_status"],
        "totals": totals,
        "report": f"{name}/certification.json",
        "summary": f"{name}/summary.html",
    }


def outcome(targets: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The run's verdict, certification and gate, from its targets' lines."""
    verdict = worst(t["verdict"] for t in targets)
    return {
        "targets": list(targets),
        "verdict": str(verdict),
        "certified": verdict == "pass",
        "gate_passed": all(t["gate_passed"] for t in targets),
    }
