"""certification.json: what a vendor hands a customer, and what `report` and `diff` read back.

One record per requirement of every selected profile, whether or not a test reached it: a
requirement with no verdict is `not run` with the reason, never `pass`, and a pass with no
exchange behind it is not a pass either. A profile is certified only when every non-advisory
MUST requirement ran and passed.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypedDict

from conformance.engine.verdicts import ItemTrace, Status, Verdict, blocks, certification, worst
from conformance.model.errors import ConfigError
from conformance.model.sanitize import json_text
from conformance.model.spec import Profile, Requirement

FORMAT = "oauth2-conformance/certification/1"
# The verdicts of the report: the checks' five, plus `not applicable` for what does not apply.
VERDICTS = tuple(str(s) for s in Status)


class RequirementRecord(TypedDict):
    id: str
    profile: str
    level: str
    advisory: bool
    source: str
    text: str
    verdict: str
    reason: str
    selected: bool
    decided_by: list[str]
    exchanges: int
    evidence: str | None
    reproduce: str | None
    baseline: str | None
    blocking: bool


class ProfileRecord(TypedDict):
    name: str
    document: str
    spec_file: str
    spec_sha256: str
    config: dict[str, Any] | None
    faults: list[str]
    verdict: str
    certified: bool
    totals: dict[str, int]
    blocking: list[str]


class Certification(TypedDict):
    format: str
    suite: dict[str, str]
    run_id: str
    started: str
    finished: str
    target: str
    seed: Any
    strict_levels: bool
    command: list[str]
    outputs: dict[str, str | None]
    profiles: list[ProfileRecord]
    requirements: list[RequirementRecord]
    baseline: dict[str, Any] | None
    gate: dict[str, Any]
    verdict: str
    certified: bool


def suite_version() -> str:
    try:
        return importlib.metadata.version("oauth2-conformance")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def outcome(requirement: Requirement, verdict: Verdict | None, trace: ItemTrace) -> tuple[str, str]:
    """The report's (verdict, reason): the check's verdict as decided, or why there is none."""
    verdict = verdict if verdict is not None else trace.absent(requirement)
    return str(verdict.status), verdict.reason


def blocks_certification(requirement: Requirement, status: str) -> bool:
    return blocks(requirement, status)


def requirement_record(
    requirement: Requirement,
    verdict: Verdict | None,
    trace: ItemTrace,
    evidence: tuple[str | None, str | None],
    baseline_reason: str | None,
) -> RequirementRecord:
    status, reason = outcome(requirement, verdict, trace)
    return {
        "id": requirement.id,
        "profile": requirement.profile,
        "level": requirement.level,
        "advisory": requirement.advisory,
        "source": requirement.source,
        "text": requirement.text,
        "verdict": status,
        "reason": reason,
        "selected": trace.selected,
        "decided_by": list(trace.decided_by),
        "exchanges": verdict.exchanges if verdict is not None else 0,
        "evidence": evidence[0],
        "reproduce": evidence[1],
        "baseline": baseline_reason,
        "blocking": blocks_certification(requirement, status),
    }


def totals(records: Iterable[RequirementRecord]) -> dict[str, int]:
    counts = dict.fromkeys(VERDICTS, 0)
    for record in records:
        counts[record["verdict"]] = counts.get(record["verdict"], 0) + 1
    return counts


def verdict_of(records: Sequence[RequirementRecord]) -> str:
    """`pass` (certified), `fail` (a blocking MUST failed or errored) or `incomplete` (some did not run)."""
    return str(certification(r["verdict"] for r in records if r["blocking"]))


def profile_record(
    profile: Profile, records: Sequence[RequirementRecord], config: dict[str, Any] | None, faults: Iterable[str]
) -> ProfileRecord:
    verdict = verdict_of(records)
    return {
        "name": profile.name,
        "document": profile.document,
        "spec_file": profile.path.name,
        "spec_sha256": sha256(profile.path),
        "config": config,
        "faults": sorted(faults),
        "verdict": verdict,
        "certified": verdict == "pass",
        "totals": totals(records),
        "blocking": [r["id"] for r in records if r["blocking"]],
    }


def overall(profiles: Sequence[ProfileRecord]) -> str:
    return str(worst(p["verdict"] for p in profiles))


def load_json(path: Path) -> dict[str, Any]:
    """A JSON object the suite wrote (certification.json, index.json), or one line saying why not."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} cannot be read as JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} does not hold a JSON object")
    return data


def load(path: Path) -> Certification:
    """Read a certification.json back (for `report` and `diff`), checking it is one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} cannot be read as JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(f"{path} is not an oauth2-conformance certification (format {FORMAT})")
    return data  # type: ignore[return-value]


def dump(certification: Certification, path: Path) -> None:
    """JSON's sanitizer: a lone surrogate (which UTF-8 cannot encode) is written as its escape, as
    `ensure_ascii` would; it can only stand inside a string, so nothing else changes."""
    text = json_text(json.dumps(certification, indent=2, ensure_ascii=False))
    path.write_text(text + "\n", encoding="utf-8")
