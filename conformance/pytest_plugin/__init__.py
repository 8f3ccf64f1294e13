"""The pytest side: the plugin's options and hooks, one item per requirement whose outcome is
derived from its verdict, pytest-xdist (workers decide, the controller writes), shards, the
report hooks that hand the verdicts to the report writers, and the fleet index."""
