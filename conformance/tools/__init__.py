"""The tools layer: what a user types. `oauth2-conformance` (run, serve, init, trace, profiles,
report, diff) and init's bounded, anonymous probe of a target."""
