"""Every registered check, by family: importing this module registers them all.

The engine's plan (`conformance.engine.plan`) binds each requirement to its declaration here, once,
at configure time; nothing else looks a check up by its name.
"""

from __future__ import annotations

# Imported for their side effect: each module's @check decorators fill REGISTRY.
from conformance.checks import (  # noqa: F401
    authorization,
    client_auth,
    expiry,
    lifecycle,
    offered,
    refusals,
    renewal,
    responses,
    rfc_security,
    token_admin,
    vendor_expiry,
    vendor_probes,
    vendor_redirects,
    vendor_tokens,
)
from conformance.checks.base import REGISTRY, Declaration, Traits
from conformance.checks.properties import expiry as expiry_property  # noqa: F401
from conformance.checks.properties import machine, malformed, races, revocation, rotation, single_use  # noqa: F401

__all__ = ["REGISTRY", "Declaration", "Traits", "declarations"]


def declarations() -> list[Declaration]:
    """Every check, sorted by name (for the catalog that spec authors read)."""
    return [REGISTRY[name] for name in sorted(REGISTRY)]
