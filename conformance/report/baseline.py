"""The baseline: requirements a team knows fail on its target, each with the reason.

It lets CI gate on regressions while known gaps are being fixed. The file is YAML or JSON, a list
of `{id, reason}`; a reason is required so that every accepted gap says why it is accepted.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from conformance.model.errors import ConfigError


@dataclass(frozen=True)
class Baseline:
    """Expected failures by requirement ID."""

    path: str
    reasons: Mapping[str, str]

    def reason(self, requirement_id: str) -> str | None:
        return self.reasons.get(requirement_id)

    def __contains__(self, requirement_id: object) -> bool:
        return requirement_id in self.reasons


def load(path: str | Path, known_ids: Collection[str]) -> Baseline:
    """Read and check a baseline file; an unknown requirement ID is a typo, so an error."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError:
        raise ConfigError(f"baseline {file} cannot be read (check the --baseline path)") from None
    try:
        data = json.loads(text) if file.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        raise ConfigError(f"baseline {file} is not valid {'JSON' if file.suffix == '.json' else 'YAML'}") from None
    return parse(data, str(file), known_ids)


def parse(data: Any, where: str, known_ids: Collection[str]) -> Baseline:
    if data is None:
        data = []
    if not isinstance(data, list):
        raise ConfigError(f"baseline {where}: expected a list of {{id, reason}} entries")
    reasons: dict[str, str] = {}
    for n, entry in enumerate(data, 1):
        if not isinstance(entry, dict) or set(entry) != {"id", "reason"}:
            raise ConfigError(f"baseline {where}: entry {n} must have exactly the keys id and reason")
        rid, reason = entry["id"], entry["reason"]
        if not isinstance(rid, str) or not isinstance(reason, str) or not reason.strip():
            raise ConfigError(f"baseline {where}: entry {n} needs a requirement ID and a non-empty reason")
        if rid in reasons:
            raise ConfigError(f"baseline {where}: {rid} is listed twice")
        if rid not in known_ids:
            raise ConfigError(f"baseline {where}: {rid} is not a requirement of any profile (a typo?)")
        reasons[rid] = reason.strip()
    return Baseline(where, reasons)
