"""Why requirements did not run: the `not run` and `not applicable` records grouped by reason.

A pure function of the certification records. Each group says how many requirements share the
reason, which ones, and what would run them: the config key or option, read off the reason text
by the HINTS table below (first match wins), else any config key the reason names.

    >>> groups = group([{"id": "YX-A", "verdict": "not run", "reason": "set client_id in the target config"}])
    >>> groups[0].hint, groups[0].ids
    ('client_id', ('YX-A',))
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from conformance.model.config import KNOWN_KEYS

UNDECIDED = ("not run", "not applicable")
_PREFIXES = ("skipped: ", "not run: ", "not applicable: ")
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:e[+-]?\d+)?")
_DETAIL = re.compile(r"\s*\([^()]*\)$")  # a trailing "(exchange_code sends client_id)"

# (regex on the reason, what would run them). `\g<name>` refers to the regex's groups.
HINTS: tuple[tuple[str, str], ...] = (
    (r"set (?P<key>params\.\w+|[a-z_]+) or (?P<alt>[a-z_]+) in the target config", r"\g<key> or \g<alt>"),
    (r"set (?P<key>params\.\w+|[a-z_]+) in the target config", r"\g<key>"),
    (r"longer than max_wait", "clock_url (or a larger max_wait)"),
    (r"clock_url answered", "clock_url"),
    (r"check the credentials in the config", "client_id, client_secret (and username, password)"),
    (r"does not advertise (?P<field>\w+)", r"endpoints.\g<field>, if the target has one"),
    (r"does not auto-approve", "code_command or login"),
    (r"login (?:step|did not finish)", "login"),
    (r"deselected", "the -k / -m / --deselect selection (or the other --shard runs)"),
    (r"session stopped before", "a run without -x / --maxfail"),
    (r"not collected", "--profile, or the test paths given to pytest"),
    (r"unreachable|could not talk to the target", "target (is it reachable from here?), timeout, connect_timeout"),
)
_COMPILED = tuple((re.compile(pattern), fix) for pattern, fix in HINTS)


@dataclass(frozen=True)
class ReasonGroup:
    """Requirements that did not run for one reason."""

    verdict: str
    reason: str
    ids: tuple[str, ...]
    hint: str | None

    @property
    def count(self) -> int:
        return len(self.ids)


def clean(reason: str) -> str:
    """The reason without the `skipped: ` / `not run: ` prefixes pytest and the items add."""
    text = reason.strip()
    while text.startswith(_PREFIXES):
        text = text.split(": ", 1)[1]
    return text or "(no reason given)"


def hint(reason: str) -> str | None:
    """The config key or option that would run a requirement held back for `reason`."""
    for pattern, fix in _COMPILED:
        match = pattern.search(reason)
        if match:
            return match.expand(fix)
    named = [key for key in sorted(KNOWN_KEYS) if re.search(rf"\b{key}\b", reason)]
    return ", ".join(named) or None


def _key(reason: str) -> str:
    return _DETAIL.sub("", _NUMBER.sub("#", reason))


def _merge(reasons: list[str]) -> str:
    """One text for reasons that differ only in numbers or a trailing parenthesis: differing
    numbers become `…`, differing parentheses are left out."""
    if len(set(reasons)) == 1:
        return reasons[0]
    details = {match.group(0) if (match := _DETAIL.search(r)) else "" for r in reasons}
    if len(details) > 1:
        reasons = [_DETAIL.sub("", r) for r in reasons]
    skeleton = _NUMBER.split(reasons[0])
    numbers = [_NUMBER.findall(r) for r in reasons]
    out = [skeleton[0]]
    for n, tail in enumerate(skeleton[1:]):
        values = {found[n] for found in numbers}
        out.append((values.pop() if len(values) == 1 else "…") + tail)
    return "".join(out)


def group(records: Iterable[Mapping[str, Any]]) -> list[ReasonGroup]:
    """Undecided records grouped by verdict and reason (numbers and a trailing parenthesis aside),
    largest group first."""
    buckets: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for record in records:
        if record["verdict"] not in UNDECIDED:
            continue
        reason = clean(str(record.get("reason") or ""))
        key = (record["verdict"], _key(reason))
        buckets.setdefault(key, []).append((str(record["id"]), reason))
    groups = []
    for (verdict, _), members in buckets.items():
        reason = _merge([r for _, r in members])
        groups.append(ReasonGroup(verdict, reason, tuple(i for i, _ in members), hint(reason)))
    return sorted(groups, key=lambda g: (-g.count, g.verdict, g.reason))


def lines(groups: Iterable[ReasonGroup], width: int = 100) -> list[str]:
    """The terminal block: count, verdict and reason; then what to set; then the IDs, wrapped."""
    out = []
    for g in groups:
        out.append(f"{g.count:>4}  {g.verdict:<14} {g.reason}")
        if g.hint:
            out.append(f"{'':>20} to run them: {g.hint}")
        indent = " " * 21
        ids = ", ".join(g.ids)
        out += textwrap.wrap(ids, width, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False)
    return out


def to_terminal(terminalreporter: Any, records: Iterable[Mapping[str, Any]]) -> None:
    """The block in pytest's terminal summary: nothing when every requirement was decided."""
    groups = group(records)
    if not groups:
        return
    count = sum(g.count for g in groups)
    terminalreporter.line(f"why {count} requirement(s) did not run, by reason:", yellow=True)
    for line in lines(groups):
        terminalreporter.line(line)
