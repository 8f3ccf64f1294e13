"""`--shard K/N`: this process decides only its share of the run; the other shards decide the rest.

Every shard collects the whole run, so node IDs, the report's list of requirements and the split
(`conformance.engine.shards.assign`) are the same on every machine; the items of the other shards
are deselected, which the report records as `not run` ("deselected ... or --shard"), and
`oauth2-conformance report merge` takes each requirement's record from the shard that selected it.
With several targets a shard takes whole targets (each target's report stays in one piece, and
its clock and exclusive requirements stay on one machine); with one, a share of its requirements.
"""

from __future__ import annotations

import pytest

from conformance.engine.plan import traits_of
from conformance.engine.shards import Shard, assign
from conformance.pytest_plugin.items import RequirementItem


class ShardSelection:
    """Deselects every requirement item that belongs to another shard, before -k and -m apply."""

    def __init__(self, shard: Shard) -> None:
        self.shard = shard

    # Not tryfirst: after the plugin's own tryfirst hook has added the requirement items, and
    # (registered later than pytest's mark plugin) before -k and -m deselect.
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        ours = [item for item in items if isinstance(item, RequirementItem)]
        targets = {item.runtime.run.name for item in ours}
        by_target = len(targets) > 1

        def unit(item: RequirementItem) -> str:
            return str(item.runtime.run.name) if by_target else item.nodeid

        weights: dict[str, int] = {}
        for item in ours:
            weights[unit(item)] = weights.get(unit(item), 0) + traits_of(item.requirement).weight
        shards = assign(weights, self.shard.count)
        elsewhere = [item for item in ours if shards[unit(item)] != self.shard.index]
        if elsewhere:
            gone = set(map(id, elsewhere))
            items[:] = [item for item in items if id(item) not in gone]
            config.hook.pytest_deselected(items=elsewhere)

    def pytest_report_header(self) -> str:
        return f"oauth2-conformance: shard {self.shard} (the other shards decide the rest; join with report merge)"
