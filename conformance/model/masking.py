"""Masking: no secret leaves the process unmasked.

Exchanges are stored raw and masked when rendered, because a token is often learned (and so
registered as secret) only after the response that carried it was recorded.

Masking works on values, not words (issue 21): a registered value is found wherever it occurs as
a substring (a server that echoes the secret followed by a period, inside a URL, a sentence or a
traceback), in each spelling the suite or a server may give it: as is, URL-encoded, form-encoded
(`quote_plus`), JSON-escaped (both with and without `ensure_ascii`) and, for a client secret, in
the Base64 of HTTP Basic (registered by the session, which knows the client_id).

Values shorter than `MIN_SUBSTRING` are not masked as substrings: a four-character token `pass`
masked as a substring would rewrite every "pass" (and "password") the suite writes, and a
one-character token `"` every quote. A configured secret that short is refused at config load
(config.py); an issued value that short is masked where it is named (`access_token=...`,
`"refresh_token": "..."`, an Authorization header), which is where a server carries it.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

# Parameter and field names whose values are secret wherever they appear (a safety net for values
# the suite never learned, e.g. a token inside a redirect it did not parse).
SECRET_NAMES = re.compile(
    r"(?i)^(client_secret|password|md5password|shapassword|code|validatecode|verifycode|"
    r"access_token|refresh_token|refrash_token|accesstoken|refreshtoken|id_token|token|code_verifier|authorization)$"
)
# key=value in a query, form or fragment, and "key": "value" in JSON; never prose like "key: value".
_KV = re.compile(
    r"(?:(?<![\w\-])(?P<key>[A-Za-z_]\w*)(?P<sep>=)(?P<value>[^&#\s\"'\\]+))"
    # JSON as it is: the value runs to the closing quote, escapes (a token `\"`) included.
    r"|(?:(?P<q>\")(?P<jkey>[A-Za-z_]\w*)\"(?P<jsep>\s*:\s*\")(?P<jvalue>(?:[^\"\\]|\\.)+))"
    # JSON inside a JSON string (`\"key\": \"value\"`): the value runs to the next backslash.
    r"|(?:(?P<eq>\\\")(?P<ekey>[A-Za-z_]\w*)\\\"(?P<esep>\s*:\s*\\\")(?P<evalue>[^\"\\]+))"
)
# An Authorization header value: the scheme stays, the credentials go.
_CREDENTIALS = re.compile(r"^(?P<scheme>[A-Za-z][\w.+-]*)\s+(?P<credentials>\S.*)$", re.S)

# The shortest value masked as a substring. Eight characters of a token alphabet are 2^48 values
# and more, so a collision with what the suite itself writes is not a practical worry; shorter
# values ("pass", "name", "code") are ordinary words. RFC 6749 §10.10 asks for credentials far
# longer than that.
MIN_SUBSTRING = 8
# Texts up to this long are first looked through for the start of any registered spelling (its
# first MIN_SUBSTRING characters): one in which none starts holds none of them, so the compiled
# patterns are neither built nor run for it. Most texts masked (a requirement's reason, a report
# field) hold no secret, and compiling a pattern of thousands of issued codes took 0.1 s a run.
PREFILTER_UP_TO = 2048


def spellings(value: str) -> set[str]:
    """The ways `value` may appear in what the suite renders: as is, URL/form-encoded, JSON-escaped."""
    return {
        value,
        quote(value, safe=""),
        quote(value, safe="/:@!$&'()*+,;="),
        quote_plus(value),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    }


def _trie_pattern(values: Iterable[str]) -> str:
    """One regex for all `values`, factored by common prefixes so a match tries only the branches
    that start with the character at hand (linear-ish in the text, however many values there are).

    At each node the longer continuations are tried first, so the longest value at a position wins.
    """
    trie: dict[str, dict] = {}
    for value in values:
        node = trie
        for char in value:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, dict]) -> str:
        branches = []
        for char in sorted(k for k in node if k):
            prefix, child = re.escape(char), node[char]
            while "" not in child and len(child) == 1:  # a chain without branches needs no group
                (next_char,) = child
                prefix += re.escape(next_char)
                child = child[next_char]
            branches.append(prefix + emit(child))
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(trie)


class _Level:
    """Some of the registered spellings and their one compiled pattern."""

    def __init__(self, spellings: list[str]) -> None:
        self.spellings = spellings
        self.pattern: re.Pattern[str] | None = None
        values = sorted(spellings, key=len, reverse=True)
        if not values:
            return
        try:
            self.pattern = re.compile(_trie_pattern(values))
        except (re.error, RecursionError, OverflowError):  # a pathological registry: a flat alternation
            self.pattern = re.compile("|".join(map(re.escape, values)))


class Masker:
    """Replaces every registered value with a stable alias like ‹access_token#2›.

    Compiled patterns find every value (any spelling) in one pass each. Rebuilding one pattern of
    every value whenever a token is learned would cost the registry's size per mask, so the
    patterns are levels, as in a log-structured merge: new spellings go to a small level, a level
    that outgrows its share is merged into the next, larger one. A mask runs a handful of patterns
    (newest first, so a value registered later that contains an earlier one is masked whole) and a
    registration costs a small rebuild, amortised.

    The registry is bounded (oldest issued values go first; config secrets stay pinned), so a long
    thorough run keeps flat memory; named fields (`"access_token": "..."`) are masked regardless.
    """

    LIMIT = 50_000
    LEVEL = 16  # spellings in the smallest level; each next level holds four times as many

    def __init__(self) -> None:
        self._values: OrderedDict[str, str] = OrderedDict()  # registered value -> alias
        self._aliases: dict[str, str] = {}  # every spelling -> alias
        self._pinned: set[str] = set()
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._pending: list[str] = []  # spellings registered since the last mask
        self._levels: list[_Level] = []  # the smallest, newest first
        self._starts: set[str] = set()  # every spelling's first MIN_SUBSTRING characters (see PREFILTER_UP_TO)
        self.longest = 0  # the longest spelling registered (see mask_prefix)

    def register(self, value: object, kind: str, *, pin: bool = False) -> None:
        if not isinstance(value, str) or len(value) < MIN_SUBSTRING:
            return
        with self._lock:
            if value in self._values:
                return
            self._counts[kind] = self._counts.get(kind, 0) + 1
            alias = f"‹{kind}#{self._counts[kind]}›"
            self._values[value] = alias
            if pin:
                self._pinned.add(value)
            for spelling in spellings(value):
                if spelling not in self._aliases:
                    self._aliases[spelling] = alias
                    self._pending.append(spelling)
                    self._starts.add(spelling[:MIN_SUBSTRING])
                self.longest = max(self.longest, len(spelling))
            self._evict()

    def _evict(self) -> None:
        """Keep the registry within LIMIT, dropping the oldest unpinned values (with their spellings);
        a pattern drops them when its level is next rebuilt."""
        while len(self._values) > self.LIMIT:
            oldest = next((v for v in self._values if v not in self._pinned), None)
            if oldest is None:
                return
            alias = self._values.pop(oldest)
            for spelling in spellings(oldest):
                if self._aliases.get(spelling) == alias:
                    del self._aliases[spelling]
        if len(self._starts) > 2 * len(self._aliases) + 1024:  # starts of evicted values, dropped now and then
            self._starts = {spelling[:MIN_SUBSTRING] for spelling in self._aliases}

    def secrets(self) -> list[str]:
        """Every spelling that is masked (for tests and safety passes)."""
        with self._lock:
            return list(self._aliases)

    def _patterns(self) -> list[re.Pattern[str]]:
        with self._lock:
            if self._pending:
                levels = self._levels
                newest = self._pending + (levels[0].spellings if levels else [])
                self._pending = []
                levels[0:1] = [_Level(newest)]
                index = 0
                while len(levels[index].spellings) > self.LEVEL * 4**index:
                    if index + 1 == len(levels):  # the full level becomes the next, larger one
                        levels.insert(index, _Level([]))
                    else:
                        kept = [s for s in levels[index + 1].spellings + levels[index].spellings if s in self._aliases]
                        levels[index : index + 2] = [_Level([]), _Level(kept)]
                    index += 1
            return [level.pattern for level in self._levels if level.pattern is not None]

    def mask(self, text: str) -> str:
        if not text:
            return text
        if self._may_hold_a_secret(text):
            aliases = self._aliases
            for pattern in self._patterns():
                text = pattern.sub(lambda m: aliases.get(m.group(0), "‹secret›"), text)
        return _KV.sub(_mask_named, text)

    def _may_hold_a_secret(self, text: str) -> bool:
        """False only if no registered spelling can occur in `text`: every spelling is at least
        MIN_SUBSTRING long, so one occurring starts with a MIN_SUBSTRING-long slice of the text
        that is some spelling's start. (A start kept after its value was evicted only costs a run
        of the patterns.) Longer texts go straight to the patterns."""
        if len(text) > PREFILTER_UP_TO:
            return True
        with self._lock:
            starts = self._starts
            return any(text[i : i + MIN_SUBSTRING] in starts for i in range(len(text) - MIN_SUBSTRING + 1))

    def mask_prefix(self, text: str) -> str:
        """Mask `text` known to be the start of something longer (a body the client cut): its last
        characters may be the start of a secret that cannot be recognised, so they are dropped."""
        if self.longest > 1:
            text = text[: max(len(text) - (self.longest - 1), 0)]
        return self.mask(text)

    def mask_credentials(self, header: str) -> str:
        """An Authorization header: the scheme stays; credentials not masked already become ‹credentials›."""
        masked = self.mask(header)
        match = _CREDENTIALS.match(masked)
        if match is None:
            return "‹credentials›" if masked else masked
        credentials = match["credentials"]
        if "‹" not in credentials:
            credentials = "‹credentials›"
        return f"{match['scheme']} {credentials}"


def _mask_named(match: re.Match[str]) -> str:
    if match["key"] is not None:
        key, sep, value, quote_ = match["key"], match["sep"], match["value"], ""
    elif match["jkey"] is not None:
        key, sep, value, quote_ = match["jkey"], match["jsep"], match["jvalue"], match["q"]
    else:
        key, sep, value, quote_ = match["ekey"], match["esep"], match["evalue"], match["eq"]
    if SECRET_NAMES.match(key) and not value.startswith("‹"):
        return f"{quote_}{key}{quote_}{sep}‹{key.lower()}›"
    return match.group(0)
