"""Registered checks, by family. Importing this package registers them all."""

from __future__ import annotations

from . import authorization, client_auth, expiry, lifecycle, refusals, responses, token_admin
from . import vendor_expiry, vendor_probes, vendor_redirects, vendor_tokens  # noqa: F401  issue 11
from .base import OPTIONS, REGISTRY, Check, CheckContext, check

# Registers the Hypothesis properties (they import .base, so this comes last).
from .. import properties  # noqa: F401  isort: skip

__all__ = [
    "OPTIONS",
    "REGISTRY",
    "Check",
    "CheckContext",
    "authorization",
    "check",
    "client_auth",
    "expiry",
    "lifecycle",
    "refusals",
    "responses",
    "token_admin",
]
