"""The options a check accepts, declared as frozen dataclasses and validated when a spec loads.

A requirement's extra keys in a spec are its check's options. An unknown key is refused (a typo
such as `expect_eror` would otherwise leave the expected codes empty and quietly accept any error).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.model.roles import FROM_TOKEN_RESPONSE, ROLES, known_role
from conformance.model.tolerance import Tolerance, ToleranceError
from conformance.model.tolerance import parse as parse_tolerance


@dataclass(frozen=True)
class NoOptions:
    """The check takes no options."""


@dataclass(frozen=True)
class Refusal:
    """`expect_error`: the error codes a refusal may carry, strings or integers as the document
    spells them (empty: any error of the dialect)."""

    expect_error: tuple[str | int, ...] = ()


@dataclass(frozen=True)
class Credential(Refusal):
    """`role`: which credential (x-role) is replaced by a made-up one; a value carried from the token
    answer (`from-token-response /openid`) is one too: the server must refuse one it never issued."""

    role: str = ""

    def __post_init__(self) -> None:
        # A misspelt role would find no parameter, and the requirement would quietly not run.
        if not known_role(self.role):
            known = ", ".join((*ROLES, f"{FROM_TOKEN_RESPONSE} /POINTER"))
            raise OptionError(f"option 'role' must be an x-role ({known}), got {self.role!r}")


@dataclass(frozen=True)
class Status:
    """`expect_status`: the HTTP statuses an error may have."""

    expect_status: tuple[int, ...] = (400,)


@dataclass(frozen=True)
class Tolerant:
    """`tolerance`: how far this requirement's lifetime may be off, `{seconds: N}` or `{fraction: F}`
    with the `line` that justifies it (model/tolerance.py); unset: 2 % of the lifetime, 5 s to 1 h."""

    tolerance: Tolerance | None = None


@dataclass(frozen=True)
class Lifetime(Tolerant, Refusal):
    """`seconds`: a documented lifetime; `tolerance`: how far it may be off."""

    seconds: float = 0.0


@dataclass(frozen=True)
class Introspection:
    """`active_pointer`: where an introspection-like answer says a token is active."""

    active_pointer: str | None = None


@dataclass(frozen=True)
class AuthMethod:
    """`method`: a client authentication method, `basic` or `post`."""

    method: str = "post"


@dataclass(frozen=True)
class RequiredParam:
    """`param`: the parameter left out of the request."""

    param: str = ""


@dataclass(frozen=True)
class Probes:
    """`probes`: flows that use a token without changing it (to see whether it still works)."""

    probes: tuple[str, ...] = ()


@dataclass(frozen=True)
class WrongParam(Refusal):
    """`wrong`: the parameter of the flow given a value the target cannot accept (a made-up client_id,
    an unsupported fixed value such as response_type); `expect_error`: the codes an error redirect may
    carry."""

    wrong: str = ""

    def __post_init__(self) -> None:
        # Without a parameter the check would send a valid request and find nothing to refuse.
        if not self.wrong:
            raise OptionError("option 'wrong' must name a parameter of the flow (response_type, client_id, ...)")


PROBE_REFUSED = ("unknown", "expired")


@dataclass(frozen=True)
class ProbeRefusal(Refusal):
    """`token`: which access token the token probe must refuse, `unknown` (one the target never
    issued) or `expired` (one whose stated lifetime is over); `expect_error`: the codes it may carry."""

    token: str = "unknown"

    def __post_init__(self) -> None:
        if self.token not in PROBE_REFUSED:
            raise OptionError(f"option 'token' must be one of {', '.join(PROBE_REFUSED)}, got {self.token!r}")


class OptionError(ValueError):
    """An option key or value the check does not accept."""


def build(kind: type[Any], raw: Mapping[str, Any]) -> Any:
    """An instance of `kind` from a spec's keys; unknown keys and wrong types raise OptionError."""
    fields = {f.name: f for f in dataclasses.fields(kind)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        accepted = ", ".join(sorted(fields)) or "none"
        raise OptionError(f"unknown option {unknown[0]!r} (this check accepts: {accepted})")
    hints = typing.get_type_hints(kind)
    values = {name: _coerce(name, hints[name], value) for name, value in raw.items()}
    return kind(**values)


def _coerce(name: str, hint: Any, value: Any) -> Any:
    if hint is Tolerance:
        try:
            return parse_tolerance(value, f"option {name!r}")
        except ToleranceError as exc:
            raise OptionError(str(exc)) from None
    origin = typing.get_origin(hint)
    if origin is tuple:
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise OptionError(f"option {name!r} must be a list, got {value!r}")
        (item,) = {a for a in typing.get_args(hint) if a is not Ellipsis}
        return tuple(_coerce(name, item, v) for v in value)
    if origin in (typing.Union, types.UnionType):
        arms = typing.get_args(hint)
        if value is None and type(None) in arms:
            return None
        problems = []
        for arm in (a for a in arms if a is not type(None)):
            try:
                return _coerce(name, arm, value)
            except OptionError as exc:
                problems.append(str(exc))
        raise OptionError(problems[-1] if len(problems) == 1 else f"option {name!r}: {value!r} is none of {hint}")
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise OptionError(f"option {name!r} must be a number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise OptionError(f"option {name!r} must be an integer, got {value!r}")
        return value
    if hint is str and not isinstance(value, str):
        raise OptionError(f"option {name!r} must be a string, got {value!r}")
    return value
