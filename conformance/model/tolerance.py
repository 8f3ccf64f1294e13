"""How far a lifetime or an expiry may be off, relative to the lifetime it is about.

A fixed allowance is wrong at both ends: ten minutes hides a five-minute code that lives twice as
long, and is noise beside a thirty-day refresh token whose document counts in days. So the default
is a fraction of the lifetime (2 %), never under a floor that covers the clocks and the round trips
(5 s) and never over a ceiling past which an error is worth finding whatever the lifetime (1 h).

A spec may set its own where its document justifies it, as `{seconds: N}` or `{fraction: F}` with
`line`, the document line that does: profile-wide (`x-conformance.expiry_tolerance`, for the expiries
a target states) or per requirement (a lifetime check's `tolerance` option).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_FRACTION = 0.02  # of the lifetime
MIN_S = 5.0  # the clocks of the suite and the target, and the round trips between them
MAX_S = 3600.0  # beyond an hour off, an expiry is wrong whatever the lifetime


class ToleranceError(ValueError):
    """A tolerance in a spec that is not `{seconds: N}` or `{fraction: F}` (with an optional `line`)."""


@dataclass(frozen=True)
class Tolerance:
    """`seconds`: a fixed allowance; `fraction`: a share of the lifetime (at least MIN_S); neither: the
    default (DEFAULT_FRACTION of the lifetime, between MIN_S and MAX_S). `line`: the document line that
    justifies an explicit value."""

    seconds: float | None = None
    fraction: float | None = None
    line: int | str | None = None

    def __post_init__(self) -> None:
        # Both at once would leave which one counts to the reader; a negative one accepts nothing.
        if self.seconds is not None and self.fraction is not None:
            raise ToleranceError("a tolerance is either seconds or fraction, not both")
        if self.seconds is not None and self.seconds < 0:
            raise ToleranceError(f"tolerance seconds must be 0 or more, got {self.seconds:g}")
        if self.fraction is not None and not 0 <= self.fraction < 1:
            raise ToleranceError(f"tolerance fraction must be at least 0 and below 1, got {self.fraction:g}")

    @property
    def explicit(self) -> bool:
        return self.seconds is not None or self.fraction is not None

    def of(self, lifetime: float) -> float:
        """The allowance, in seconds, for an expiry `lifetime` seconds away (its sign is ignored)."""
        if self.seconds is not None:
            return self.seconds
        share = abs(lifetime) * (self.fraction if self.fraction is not None else DEFAULT_FRACTION)
        if self.fraction is not None:
            return max(share, MIN_S)  # an explicit fraction is justified by its line: no ceiling
        return min(max(share, MIN_S), MAX_S)

    def describe(self, lifetime: float) -> str:
        """For messages and the catalog: the allowance and where it comes from."""
        allowance = f"±{self.of(lifetime):g} s"
        if self.seconds is not None:
            source = "stated"
        elif self.fraction is not None:
            source = f"{self.fraction:.2%} of the lifetime"
        else:
            source = f"{DEFAULT_FRACTION:.0%} of the lifetime, {MIN_S:g} s to {MAX_S / 3600:g} h"
        line = f", line {self.line}" if self.line is not None else ""
        return f"{allowance} ({source}{line})"


DEFAULT = Tolerance()


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ToleranceError(f"tolerance {key} must be a number, got {value!r}")
    return float(value)


def parse(raw: Any, where: str = "tolerance") -> Tolerance:
    """A Tolerance from a spec's `{seconds: N, line: L}` or `{fraction: F, line: L}`; anything else
    raises ToleranceError naming `where`, so a typo (`{second: 600}`) cannot quietly mean the default."""
    if isinstance(raw, Tolerance):
        return raw
    if not isinstance(raw, Mapping):
        raise ToleranceError(f"{where} must be {{seconds: N}} or {{fraction: F}} with an optional line, got {raw!r}")
    unknown = sorted(set(raw) - {"seconds", "fraction", "line"})
    if unknown:
        raise ToleranceError(f"{where}: unknown key {unknown[0]!r} (accepted: seconds, fraction, line)")
    if "seconds" not in raw and "fraction" not in raw:
        raise ToleranceError(f"{where} must set seconds or fraction, got {dict(raw)!r}")
    line = raw.get("line")
    if line is not None and (isinstance(line, bool) or not isinstance(line, (int, str))):
        raise ToleranceError(f"{where}: line must be a document line, got {line!r}")
    try:
        return Tolerance(
            seconds=_number(raw["seconds"], "seconds") if "seconds" in raw else None,
            fraction=_number(raw["fraction"], "fraction") if "fraction" in raw else None,
            line=line,
        )
    except ToleranceError as exc:
        raise ToleranceError(f"{where}: {exc}") from None
