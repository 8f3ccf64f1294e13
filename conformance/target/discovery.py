"""Where a profile's operations live on the target.

An operation whose spec names an RFC 8414 metadata field (`x-endpoint: token_endpoint`) is found,
in order, in the config's `endpoints`, in the target's metadata (fetched once), and else at the
base URL plus the spec's path.

Where metadata is looked for is decided here only (`metadata_candidates`), for the session, the
RFC 8414 checks and init alike: each of the profile's `discovery` suffixes appended to the target
URL (RFC 8414 §5, OpenID Connect Discovery §4), then inserted between its host and its path
(RFC 8414 §3.1). init also tries the origin's root, to tell the user where it found metadata the
suite would not read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

from conformance.model.config import TargetConfig
from conformance.model.spec import Operation, Profile
from conformance.target.client import TargetClient


class Answer(Protocol):
    """What a metadata fetch needs of an answer (the client's Reply, init's probe answer)."""

    @property
    def status(self) -> int | None: ...

    def json(self) -> Any: ...


def metadata_candidates(base_url: str, suffixes: Iterable[str], *, root: bool = False) -> list[str]:
    """Where metadata may live, in the order it is looked for: appended, inserted, and (`root`) at
    the origin's root."""
    base = base_url.rstrip("/")
    parts = urlsplit(base)
    origin, prefix = f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/")
    suffixes = list(suffixes)
    urls = [base + suffix for suffix in suffixes]
    if prefix:
        urls += [origin + suffix + prefix for suffix in suffixes]
        if root:
            urls += [origin + suffix for suffix in suffixes]
    return list(dict.fromkeys(urls))


def find_metadata(
    get: Callable[[str], Answer], urls: Iterable[str], accept: Callable[[dict[str, Any]], bool] = lambda body: True
) -> tuple[str | None, dict[str, Any]]:
    """The first of `urls` that answers 200 with a JSON object `accept` takes, and that object."""
    for url in urls:
        answer = get(url)
        body = answer.json() if answer.status == 200 else None
        if isinstance(body, dict) and accept(body):
            return url, body
    return None, {}


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
            self.metadata_url, self._metadata = find_metadata(self._get, self.candidates())
        return self._metadata

    def candidates(self) -> list[str]:
        return metadata_candidates(self.base_url, self.profile.discovery)

    def _get(self, url: str) -> Answer:
        return self.client.send("GET", url)

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
