"""Exchanges: one request and what came back, the bounded log of a test, and their renderings."""

from __future__ import annotations

import shlex
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from conformance.model.masking import Masker


@dataclass
class Exchange:
    """One request and what came back (or the transport error instead)."""

    seq: int
    method: str
    url: str
    request_headers: Mapping[str, str]
    request_body: str
    status: int | None = None
    response_headers: Mapping[str, str] = field(default_factory=dict)
    response_body: str = ""
    elapsed_ms: float = 0.0
    error: str | None = None

    def render(self, masker: Masker, body_limit: int = 2000) -> str:
        lines = [f"#{self.seq} {self.method} {masker.mask(self.url)}"]
        for header in ("content-type", "authorization"):
            if header in self.request_headers:
                lines.append(f"   {header}: {masker.mask(self.request_headers[header])}")
        if self.request_body:
            lines.append(f"   body: {masker.mask(self.request_body)[:body_limit]}")
        if self.error:
            lines.append(f"   -> no answer: {self.error}")
        else:
            lines.append(f"   -> {self.status} in {self.elapsed_ms:.0f} ms")
            location = self.response_headers.get("location")
            if location:
                lines.append(f"      location: {masker.mask(location)}")
            body = self.response_body[:body_limit]
            if body:
                lines.append(f"      {masker.mask(body)}")
        return "\n".join(lines)

    def curl(self, masker: Masker) -> str:
        parts = ["curl", "-sS", "-i", "-X", self.method, masker.mask(self.url)]
        for header in ("Content-Type", "Authorization"):
            if header.lower() in self.request_headers:
                parts += ["-H", f"{header}: {masker.mask(self.request_headers[header.lower()])}"]
        if self.request_body:
            parts += ["--data-raw", masker.mask(self.request_body)]
        return " ".join(shlex.quote(p) for p in parts)


class EvidenceLog:
    """The exchanges of one test, bounded: the last `limit` are kept, the rest only counted."""

    def __init__(self, limit: int = 200) -> None:
        self._items: deque[Exchange] = deque(maxlen=limit)
        self.count = 0

    def add(self, exchange: Exchange) -> None:
        self._items.append(exchange)
        self.count += 1

    def __iter__(self) -> Iterator[Exchange]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def summary(self) -> EvidenceLog:
        """An empty log that keeps only the count (for results that need no evidence)."""
        kept = EvidenceLog(limit=1)
        kept.count = self.count
        return kept


def render_all(exchanges: Iterable[Exchange], masker: Masker) -> str:
    return "\n".join(e.render(masker) for e in exchanges)


def curl_script(exchanges: Iterable[Exchange], masker: Masker) -> str:
    """A shell script replaying the exchanges; secrets stay masked, fill them in to run it."""
    body = "\n".join(e.curl(masker) for e in exchanges)
    return "#!/bin/sh\n# Reproduction (secrets masked as ‹kind#n›: substitute real values).\nset -x\n" + body + "\n"
