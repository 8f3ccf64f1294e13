"""Evidence: every exchange a test makes, and masking so no secret leaves the process unmasked.

Exchanges are stored raw and masked when rendered, because a token is often learned (and so
registered as secret) only after the response that carried it was recorded.
"""

from __future__ import annotations

import json
import re
import shlex
import threading
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

# Parameter and field names whose values are secret wherever they appear (a safety net for values
# the suite never learned, e.g. a token inside a redirect it did not parse).
SECRET_NAMES = re.compile(
    r"(?i)^(client_secret|password|md5password|shapassword|code|validatecode|verifycode|"
    r"access_token|refresh_token|refrash_token|accesstoken|refreshtoken|id_token|token|code_verifier|authorization)$"
)
# The characters of an opaque token (RFC 6749 appendix A's unreserved set, which issued values use).
_WORD = re.compile(r"[A-Za-z0-9._~-]+")
# key=value in a query, form or fragment, and "key": "value" in JSON; never prose like "key: value".
_KV = re.compile(
    r"(?:(?<![\w\-])(?P<key>[A-Za-z_]\w*)(?P<sep>=)(?P<value>[^&#\s\"'\\]+))"
    r"|(?:(?P<q>\\?\")(?P<jkey>[A-Za-z_]\w*)\\?\"(?P<jsep>\s*:\s*\\?\")(?P<jvalue>[^\"\\]+))"
)


class Masker:
    """Replaces every registered secret with a stable alias like ‹access_token#2›.

    Masking is linear in the text, not in the number of secrets: values made of token
    characters (almost every issued code and token) are found by splitting the text into words
    and looking each up; the few others (a password with spaces, say) are replaced as substrings.
    The registry is bounded (oldest issued values go first; config secrets stay), so a long
    thorough run keeps flat memory; named fields (`"access_token": "..."`) are masked regardless.
    """

    LIMIT = 50_000

    def __init__(self) -> None:
        self._words: OrderedDict[str, str] = OrderedDict()
        self._substrings: dict[str, str] = {}
        self._pinned: set[str] = set()
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def register(self, value: object, kind: str, *, pin: bool = False) -> None:
        if not isinstance(value, str) or len(value) < 3:
            return
        with self._lock:
            if value in self._words or value in self._substrings:
                return
            self._counts[kind] = self._counts.get(kind, 0) + 1
            alias = f"‹{kind}#{self._counts[kind]}›"
            for variant in {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}:
                if _WORD.fullmatch(variant):
                    self._words.setdefault(variant, alias)
                else:
                    self._substrings.setdefault(variant, alias)
                if pin:
                    self._pinned.add(variant)
            while len(self._words) > self.LIMIT:
                oldest = next(iter(self._words))
                if oldest in self._pinned:
                    self._words.move_to_end(oldest)
                    break
                del self._words[oldest]

    def secrets(self) -> list[str]:
        return [*self._words, *self._substrings]

    def mask(self, text: str) -> str:
        if not text:
            return text
        for value in sorted(self._substrings, key=len, reverse=True):
            if value in text:
                text = text.replace(value, self._substrings[value])
        words = self._words
        text = _WORD.sub(lambda m: words.get(m.group(0), m.group(0)), text)
        return _KV.sub(self._mask_named, text)

    @staticmethod
    def _mask_named(match: re.Match[str]) -> str:
        if match["key"] is not None:
            key, sep, value, quote_ = match["key"], match["sep"], match["value"], ""
        else:
            key, sep, value, quote_ = match["jkey"], match["jsep"], match["jvalue"], match["q"]
        if SECRET_NAMES.match(key) and not value.startswith("‹"):
            return f"{quote_}{key}{quote_}{sep}‹{key.lower()}›"
        return match.group(0)


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


class Recorder:
    """The evidence of one requirement, owned by its check context.

    Every exchange is counted (a pass with no exchange verified nothing); only those of the current
    example are kept, so the violation a property finally reports carries exactly the exchanges of
    its minimal example.
    """

    def __init__(self) -> None:
        self.example = EvidenceLog()
        self.total = 0

    def add(self, exchange: Exchange) -> None:
        self.example.add(exchange)
        self.total += 1

    def next_example(self) -> None:
        """A property or state machine starts a new example: keep its exchanges apart."""
        self.example = EvidenceLog()


_RECORDER: ContextVar[Recorder | None] = ContextVar("oauth2_conformance_recorder", default=None)


@contextmanager
def recording(recorder: Recorder) -> Iterator[Recorder]:
    """Exchanges sent inside the block are recorded by `recorder` (and by no other)."""
    token = _RECORDER.set(recorder)
    try:
        yield recorder
    finally:
        _RECORDER.reset(token)


def record(exchange: Exchange) -> None:
    """Give an exchange to whichever requirement is being decided (none: nothing to keep)."""
    recorder = _RECORDER.get()
    if recorder is not None:
        recorder.add(exchange)


def render_all(exchanges: Iterable[Exchange], masker: Masker) -> str:
    return "\n".join(e.render(masker) for e in exchanges)


def curl_script(exchanges: Iterable[Exchange], masker: Masker) -> str:
    """A shell script replaying the exchanges; secrets stay masked, fill them in to run it."""
    body = "\n".join(e.curl(masker) for e in exchanges)
    return "#!/bin/sh\n# Reproduction (secrets masked as ‹kind#n›: substitute real values).\nset -x\n" + body + "\n"
