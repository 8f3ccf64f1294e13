"""The engine layer: a run, built and validated before it starts, and decided in one place.
`plan` binds each requirement to its check, `runtime` holds the live side (reference servers,
sessions, masker, verdicts), `verdicts` decides and aggregates, `fleet` plans several targets,
`shards` splits a run across machines, `reference` starts the reference servers for `serve`.
Only the engine imports `conformance.servers`."""
