"""Starting the embedded reference servers outside a run (`oauth2-conformance serve`).

Only the engine imports `conformance.servers`: a run's Runtime starts them for the embedded
target, and `serve` starts them here for a user to point the suite (or init) at.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conformance.model.errors import SuiteError
from conformance.servers import PROFILES, ReferenceServer, reference_config


def start_reference(
    profiles: Sequence[str] | None, port: int, faults: Sequence[str], latency: float = 0.0
) -> tuple[ReferenceServer, dict[str, dict[str, Any]]]:
    """Start the reference servers of `profiles` (all by default) with `faults` (PROFILE:FAULT) on,
    and return the server with each profile's ready config (its target URL under `target`)."""
    names = [n for item in (profiles or []) for n in item.split(",") if n] or list(PROFILES)
    unknown = [n for n in names if n not in PROFILES]
    if unknown:
        raise SuiteError(f"unknown profile {unknown[0]!r}; known profiles: {', '.join(PROFILES)}")
    server = ReferenceServer(names, port=port, latency=latency)
    try:
        server.start()
    except OSError as exc:
        raise SuiteError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror}); pick another --port") from None
    for spec in faults:
        profile, _, fault = spec.partition(":")
        try:
            server.states[profile].set_faults(server.states[profile].faults | {fault})
        except KeyError as exc:
            server.stop()
            raise SuiteError(f"--fault {spec!r}: {exc.args[0] if exc.args else 'unknown profile'}") from None
    configs = {name: {**reference_config(name, server.url(name)), "target": server.url(name)} for name in names}
    return server, configs
