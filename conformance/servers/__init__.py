"""Embedded reference servers: one correct implementation per document, with fault switches.

`ReferenceServer` runs the selected profiles on one uvicorn server on 127.0.0.1, each under
`/<profile>`; `reference_config(profile, base_url)` is the target config that drives it.
"""

from __future__ import annotations

from conformance.servers.registry import PROFILES, ServerModule, load, reference_config
from conformance.servers.runner import ReferenceServer

__all__ = ["PROFILES", "ReferenceServer", "ServerModule", "load", "reference_config"]
