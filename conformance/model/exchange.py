"""Exchanges: one request and what came back, the bounded log of a test, and their renderings."""

from __future__ import annotations

import shlex
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace

from conformance.model.masking import Masker
from conformance.model.sanitize import cut, one_line, visible

URL_LIMIT = 2000  # characters of a URL or header shown (a 64 KB Location header is cut, after masking)


@dataclass
class Exchange:
    """One request and what came back (or the transport error instead).

    Stored raw: a value is often learned to be secret after the answer that carried it. Every
    rendering masks first, then sanitizes for text (`sanitize.visible`), then cuts.
    `body_cut` says the stored response body is only the start of what the target sent.
    """

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
    body_cut: bool = False

    def masked_body(self, masker: Masker) -> str:
        """The response body masked; a cut body loses the tail that might start a secret."""
        return masker.mask_prefix(self.response_body) if self.body_cut else masker.mask(self.response_body)

    def masked_header(self, name: str, value: str, masker: Masker) -> str:
        return masker.mask_credentials(value) if name == "authorization" else masker.mask(value)

    def masked(self, masker: Masker) -> Exchange:
        """A copy with every string masked (what leaves the process: an xdist worker's evidence)."""
        location = self.response_headers.get("location")
        return replace(
            self,
            url=masker.mask(self.url),
            request_headers={k: self.masked_header(k, v, masker) for k, v in self.request_headers.items()},
            request_body=masker.mask(self.request_body),
            response_headers={"location": masker.mask(location)} if location else {},
            response_body=self.masked_body(masker),
            error=masker.mask(self.error) if self.error else None,
            body_cut=False,
        )

    started_at: float | None = None  # epoch seconds when the request went out (None: never sent)
    ended_at: float | None = None  # epoch seconds when its answer (or the transport error) was in

    def timing(self) -> str:
        """When it was sent and answered, to the microsecond: overlapping exchanges show as such."""
        if self.started_at is None:
            return ""
        end = f"–{clock(self.ended_at)}" if self.ended_at is not None else ""
        return f" [{clock(self.started_at)}{end}]"

    def render(self, masker: Masker, body_limit: int = 2000) -> str:
        def line(text: str, limit: int = URL_LIMIT) -> str:
            return cut(one_line(text), limit)

        lines = [f"#{self.seq} {self.method} {line(masker.mask(self.url))}"]
        for header in ("content-type", "authorization"):
            if header in self.request_headers:
                lines.append(f"   {header}: {line(self.masked_header(header, self.request_headers[header], masker))}")
        if self.request_body:
            lines.append(f"   body: {cut(visible(masker.mask(self.request_body)), body_limit)}")
        if self.error:
            lines.append(f"   -> no answer: {line(masker.mask(self.error))}{self.timing()}")
        else:
            lines.append(f"   -> {self.status} in {self.elapsed_ms:.0f} ms{self.timing()}")
            location = self.response_headers.get("location")
            if location:
                lines.append(f"      location: {line(masker.mask(location))}")
            body = self.masked_body(masker)
            if body:
                lines.append(f"      {cut(visible(body), body_limit)}")
        return "\n".join(lines)

    def curl(self, masker: Masker) -> str:
        parts = ["curl", "-sS", "-i", "-X", one_line(self.method), cut(one_line(masker.mask(self.url)), URL_LIMIT)]
        for header in ("Content-Type", "Authorization"):
            name = header.lower()
            if name in self.request_headers:
                value = one_line(self.masked_header(name, self.request_headers[name], masker))
                parts += ["-H", f"{header}: {cut(value, URL_LIMIT)}"]
        if self.request_body:
            parts += ["--data-raw", visible(masker.mask(self.request_body))]
        return " ".join(shlex.quote(p) for p in parts)


def clock(epoch: float) -> str:
    """An epoch time as UTC hh:mm:ss.ffffff."""
    return time.strftime("%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch * 1_000_000) % 1_000_000:06d}"


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
