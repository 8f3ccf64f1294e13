"""Registered checks, by family. Importing this package registers them all."""

from __future__ import annotations

from . import (  # noqa: F401  issue 11
    authorization,
    client_auth,
    expiry,
    lifecycle,
    refusals,
    responses,
    rfc_security,
    token_admin,
    vendor_expiry,
    vendor_probes,
    vendor_redirects,
    vendor_tokens,
)
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
    "rfc_security",
    "token_admin",
]
