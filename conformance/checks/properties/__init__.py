"""Hypothesis properties: the documents' promises about sequences (codes work once, refresh tokens
rotate, expiry is clamped, destroy revokes, errors have one right code), as registered checks.
`conformance.checks.catalog` registers them."""
