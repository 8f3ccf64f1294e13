"""When a body field says "error" or "success": a predicate on one JSON pointer.

Dialects flag their answers differently: RFC 6749 by the presence of `error`, UserCenter by
`status: 0`, WeChat by an `errcode` that is present and not 0 (its check-token success is
`{"errcode": 0, "errmsg": "ok"}`). A profile states its predicates once (`error`, `success` in
`x-conformance`) and a flow may state its own, which wins for that flow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.model.pointer import MISSING, resolve

KEYS = ("pointer", "equals", "not_equals", "absent")


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same kind: `false` is not `0`, `1` is not `true`."""
    return bool(a == b) and isinstance(a, bool) == isinstance(b, bool)


@dataclass(frozen=True)
class Predicate:
    """The field at `pointer` is present (and `equals` a value, and differs from `not_equals`), or,
    with `absent`, is missing. `equals: null` means "present, whatever its value"."""

    pointer: str
    equals: Any = None
    not_equals: Any = None
    absent: bool = False

    def holds(self, body: Any) -> bool:
        value = resolve(body, self.pointer)
        if self.absent:
            return value is MISSING
        if value is MISSING:
            return False
        if self.equals is not None and not same(value, self.equals):
            return False
        return self.not_equals is None or not same(value, self.not_equals)

    def describe(self) -> str:
        if self.absent:
            return f"{self.pointer} absent"
        parts = [f"{self.pointer} present"]
        if self.equals is not None:
            parts.append(f"= {self.equals!r}")
        if self.not_equals is not None:
            parts.append(f"≠ {self.not_equals!r}")
        return " ".join(parts)


def predicate(raw: Mapping[str, Any], where: str, others: tuple[str, ...] = ()) -> Predicate | None:
    """The predicate of a spec block (`{pointer, equals, not_equals, absent}`, plus the block's
    `others` keys); None without a pointer. Unknown keys and contradictions are a ValueError."""
    unknown = sorted(set(raw) - set(KEYS) - set(others))
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join((*KEYS, *others))})")
    pointer = raw.get("pointer")
    if pointer is None:
        if any(raw.get(k) is not None for k in ("equals", "not_equals")) or raw.get("absent"):
            raise ValueError(f"{where}: equals, not_equals and absent need a pointer")
        return None
    absent = raw.get("absent", False)
    if not isinstance(absent, bool):
        raise ValueError(f"{where}: absent must be true or false")
    if absent and (raw.get("equals") is not None or raw.get("not_equals") is not None):
        raise ValueError(f"{where}: absent excludes equals and not_equals")
    return Predicate(str(pointer), raw.get("equals"), raw.get("not_equals"), absent)
