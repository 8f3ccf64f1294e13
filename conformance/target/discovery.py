"""Where a profile's operations live on the target.

An operation whose spec names an RFC 8414 metadata field (`x-endpoint: token_endpoint`) is found,
in order, in the config's `endpoints`, in the target's metadata (fetched once, from the profile's
`discovery` paths), and else at the base URL plus the spec's path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance.model.config import TargetConfig
from conformance.model.spec import Operation, Profile
from conformance.target.client import TargetClient


class Discovery:
    def __init__(self, profile: Profile, config: TargetConfig, base_url: str, client: TargetClient) -> None:
        self.profile = profile
        self.config = config
        self.base_url = base_url.rstrip("/")
        self.client = client
        self._metadata: dict[str, Any] | None = None
        self.metadata_url: str | None = None  # where the metadata was found, if anywhere

    def metadata(self) -> Mapping[str, Any]:
        """The target's authorization server metadata, fetched once (empty if it publishes none)."""
        if self._metadata is None:
            self._metadata = {}
            for where in self.profile.discovery:
                reply = self.client.send("GET", self.base_url + where)
                body = reply.json()
                if reply.status == 200 and isinstance(body, dict):
                    self._metadata = body
                    self.metadata_url = self.base_url + where
                    break
        return self._metadata

    def url_for(self, operation: Operation, path: str) -> str:
        """The config's `endpoints`, else the target's metadata (RFC 8414), else base URL + path."""
        key = operation.endpoint
        if key:
            if key in self.config.endpoints:
                return self.config.endpoints[key]
            discovered = self.metadata().get(key)
            if isinstance(discovered, str) and discovered.startswith(("http://", "https://")):
                return discovered
        return self.base_url + path
