"""Hypothesis properties: the documents' promises about sequences (codes work once, refresh tokens
rotate, expiry is clamped, destroy revokes, errors have one right code), as registered checks."""

from __future__ import annotations

from . import expiry, machine, malformed, revocation, rotation, single_use

__all__ = ["expiry", "machine", "malformed", "revocation", "rotation", "single_use"]
