"""Shards: a deterministic, balanced share of a run for one machine of many (`--shard K/N`).

A CI matrix (GitHub Actions `strategy.matrix`, a GitLab `parallel:` job) or a Kubernetes Indexed
Job runs N copies of the same command, each with its own K; `oauth2-conformance report merge`
then joins their run directories into one report. Every shard must compute the same split without
talking to the others, so the split depends only on what every shard collects: the units (targets
when the run has several, else the requirements of the one target), their weights (the checks'
declared costs) and their names. Longest processing time first, ties broken by name: within 4/3 of
the best split, and the same on every machine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from conformance.model.errors import ConfigError

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """Shard `index` (1-based) of `count`."""

    index: int
    count: int

    @classmethod
    def parse(cls, value: str) -> Shard:
        match = _SPEC.match(value)
        if match is None:
            raise ConfigError(f"--shard {value!r} is not K/N (e.g. --shard 2/4: the second of four shards)")
        index, count = int(match[1]), int(match[2])
        if not 1 <= index <= count:
            raise ConfigError(f"--shard {value!r}: K must be between 1 and N (got {index} of {count})")
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def assign(weights: Mapping[str, int], count: int) -> dict[str, int]:
    """Each unit's shard (1-based): the heaviest first, each to the least loaded shard so far."""
    loads = [0] * count
    shards: dict[str, int] = {}
    for unit in sorted(weights, key=lambda name: (-weights[name], name)):
        lightest = min(range(count), key=lambda i: (loads[i], i))
        shards[unit] = lightest + 1
        loads[lightest] += max(weights[unit], 1)
    return shards
