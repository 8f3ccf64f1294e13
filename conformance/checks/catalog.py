"""Every registered check, by family: importing this module registers them all.

The engine's plan (`conformance.engine.plan`) binds each requirement to its declaration here, once,
at configure time; nothing else looks a check up by its name.
"""

from __future__ import annotations

from conformance.checks import (
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
from conformance.checks.properties import expiry as expiry_property
from conformance.checks.properties import machine, malformed, races, revocation, rotation, single_use

FAMILIES = (
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
    expiry_property,
    machine,
    malformed,
    races,
    revocation,
    rotation,
    single_use,
)

__all__ = ["FAMILIES", "REGISTRY", "Declaration", "Traits", "declarations"]


def declarations() -> list[Declaration]:
    """Every check, sorted by name (for the catalog that spec authors read)."""
    return [REGISTRY[name] for name in sorted(REGISTRY)]
