"""The plan: each requirement bound to its check once, at configure time.

A spec names its checks by string (`check: code_single_use`) and gives their options as plain
YAML. Binding turns that into a `Binding`: the check's declaration (function, options type,
traits) and the options built and validated against that type. A spec naming an unknown check or
an option its check does not declare is refused here, before a single request, with the spec and
requirement it comes from. Everything after configure (the verdict, the scheduler, the xdist
locks, init's second-client lines) reads the binding, never the check's name.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from conformance.checks.base import Declaration, Traits
from conformance.checks.catalog import REGISTRY
from conformance.checks.options import OptionError, build
from conformance.model.errors import SpecError
from conformance.model.spec import Profile, Requirement


@dataclass(frozen=True)
class Binding:
    """One requirement and the check that decides it, with the check's typed options."""

    requirement: Requirement
    declaration: Declaration
    options: Any

    @property
    def traits(self) -> Traits:
        return self.declaration.traits


class Plan(Mapping[tuple[str, str], Binding]):
    """Every requirement of the loaded profiles, keyed by (profile, requirement ID)."""

    def __init__(self, bindings: Iterable[Binding]) -> None:
        self._bindings = {(b.requirement.profile, b.requirement.id): b for b in bindings}

    def __getitem__(self, key: tuple[str, str]) -> Binding:
        return self._bindings[key]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._bindings)

    def __len__(self) -> int:
        return len(self._bindings)

    def of(self, requirement: Requirement) -> Binding:
        return self._bindings[(requirement.profile, requirement.id)]


def bind(requirement: Requirement, where: str = "") -> Binding:
    """The binding of one requirement; SpecError names the spec and requirement when it cannot be."""
    where = where or f"requirement {requirement.id}"
    declaration = REGISTRY.get(requirement.check)
    if declaration is None:
        known = ", ".join(sorted(REGISTRY))
        raise SpecError(f"{where}: unknown check {requirement.check!r} (known checks: {known})")
    try:
        options = build(declaration.options, requirement.options)
    except OptionError as exc:
        raise SpecError(f"{where}: {exc}") from None
    return Binding(requirement, declaration, options)


def plan(profiles: Iterable[Profile]) -> Plan:
    """Bind every requirement of `profiles`; the first one that cannot be bound is a SpecError."""
    return Plan(
        bind(requirement, f"spec {profile.path.name}, requirement {requirement.id}")
        for profile in profiles
        for requirement in profile.requirements
    )


def traits_of(requirement: Requirement) -> Traits:
    """The traits of a requirement's check (a requirement naming no known check has none)."""
    declaration = REGISTRY.get(requirement.check)
    return declaration.traits if declaration is not None else Traits()


def isolated(requirement: Requirement) -> bool:
    """A check that may need the target to itself (it moves the clock, or needs the target alone)."""
    traits = traits_of(requirement)
    return traits.moves_clock or traits.needs_target_alone


def needs_target_alone(requirement: Requirement, session: Any) -> bool:
    """Exclusive on a shared target: a check that moves its clock (only with `clock_url`: waiting
    a lifetime out in real time moves nothing, so the others go on meanwhile), or one that any
    other requirement running at the same time could decide for it."""
    traits = traits_of(requirement)
    if traits.needs_target_alone:
        return True
    config = getattr(session, "config", None)
    return traits.moves_clock and bool(getattr(config, "clock_url", None))
