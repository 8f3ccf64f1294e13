"""Registered checks, by family. Importing this package registers them all."""

from __future__ import annotations

from . import expiry, lifecycle, refusals, responses
from .base import REGISTRY, Check, CheckContext, check

# Registers the Hypothesis properties (they import .base, so this comes last).
from .. import properties  # noqa: F401  isort: skip

__all__ = ["REGISTRY", "Check", "CheckContext", "check", "expiry", "lifecycle", "refusals", "responses"]
