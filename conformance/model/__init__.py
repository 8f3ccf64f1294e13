"""The model layer: what the suite knows, as data. Specs and requirements, the target config,
errors, exchanges and masking. It imports nothing else of the package, so every other layer may
read it, and a spec author can load a profile without a client, a check or pytest."""
