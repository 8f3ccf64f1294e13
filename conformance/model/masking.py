"""Masking: no secret leaves the process unmasked.

Exchanges are stored raw and masked when rendered, because a token is often learned (and so
registered as secret) only after the response that carried it was recorded.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
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
