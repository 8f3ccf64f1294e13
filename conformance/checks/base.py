"""The check registry and the context a check runs in.

A check is a small function registered under a stable name; requirements in the specs name the
check that decides them, so every requirement has one, and every check serves requirements.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..client import Reply
from ..errors import PreconditionFailed, Violation
from ..evidence import Recorder
from ..outcome import Outcome, classify
from ..session import ProfileSession, Tokens
from ..spec import Flow, Requirement
from ..validation import ResponseValidator
from .options import NoOptions
from .options import build as build_options

Check = Callable[["CheckContext"], None]


def role_param(flow: Flow, role: str) -> str:
    """The parameter of `flow` that carries `role` (the spec's x-role)."""
    for name in flow.params:
        if flow.operation.params[name].role == role:
            return name
    raise PreconditionFailed(f"{flow.name} sends no parameter with role {role}")


def bogus(kind: str) -> str:
    """A value no target issued: a made-up code, token or client."""
    return f"bogus-{kind}-{secrets.token_hex(8)}"


REGISTRY: dict[str, Check] = {}
OPTIONS: dict[str, type[Any]] = {}  # check name -> the frozen dataclass of its options


def check(name: str, options: type[Any] = NoOptions) -> Callable[[Check], Check]:
    """Register a check under `name`, the value of `check:` in the specs, with the options it takes."""

    def register(fn: Check) -> Check:
        if name in REGISTRY:
            raise ValueError(f"check {name!r} registered twice")
        REGISTRY[name] = fn
        OPTIONS[name] = options
        return fn

    return register


@dataclass
class CheckContext:
    """What one requirement's check works with: the session, the validator, and its own evidence."""

    session: ProfileSession
    validator: ResponseValidator
    requirement: Requirement
    recorder: Recorder = field(default_factory=Recorder)

    # -- what the requirement is about ------------------------------------------------------
    @property
    def flow(self) -> Flow:
        if self.requirement.flow is None:
            raise PreconditionFailed(f"{self.requirement.id} names no flow")
        return self.session.flow(self.requirement.flow)

    @property
    def options(self) -> Any:
        """The requirement's options, typed by the check's declaration (validated at spec load)."""
        return build_options(OPTIONS.get(self.requirement.check, NoOptions), self.requirement.options)

    def option(self, name: str, default: Any = None) -> Any:
        """One typed option, or `default` when the spec does not set it."""
        return getattr(self.options, name) if name in self.requirement.options else default

    def line(self, code: str) -> str:
        error = self.session.profile.error
        where = error.codes.get(code) if error else None
        return f" ({self.session.profile.source(where)})" if where else ""

    # -- verdicts ---------------------------------------------------------------------------
    def fail(self, message: str) -> Violation:
        """A violation of this requirement, carrying every exchange of the test as evidence."""
        return Violation(self.requirement, message, list(self.recorder.example))

    def outcome(self, reply: Reply, flow: Flow | None = None) -> Outcome:
        return classify(self.session.profile, flow or self.flow, reply)

    def succeed(self, reply: Reply, flow: Flow | None = None, *, step: str = "") -> Outcome:
        """A step the check relies on must succeed; if it does not, the requirement is undecided."""
        flow = flow or self.flow
        outcome = self.outcome(reply, flow)
        if not outcome.success:
            raise PreconditionFailed(
                f"{step or flow.name} did not succeed ({outcome.describe(reply)}); "
                f"see {self.session.profile.id_prefix}-{flow.name.upper().replace('_', '-')}-RESPONSE"
            )
        return outcome

    def expect_error(self, reply: Reply, codes: Iterable[str], what: str, flow: Flow | None = None) -> Outcome:
        """The reply must be an error of the profile's dialect, with one of `codes` if it has codes."""
        flow = flow or self.flow
        codes = tuple(codes)
        outcome = self.outcome(reply, flow)
        if reply.status >= 500:
            raise self.fail(f"{what}: the server failed with HTTP {reply.status} instead of answering an error")
        if outcome.success:
            raise self.fail(f"{what}: the request was accepted ({outcome.describe(reply)}); an error was expected")
        error = self.session.profile.error
        if error is not None and error.code and codes and outcome.error_code not in codes:
            wanted = " or ".join(f"{c}{self.line(c)}" for c in codes)
            got = outcome.error_code or f"no error code ({outcome.describe(reply)})"
            raise self.fail(f"{what}: expected error {wanted}, got {got}")
        if outcome.redirected_error:
            return outcome
        if error is not None and error.status and reply.status not in error.status:
            raise self.fail(f"{what}: an error must be HTTP {'/'.join(map(str, error.status))}, got {reply.status}")
        if error is not None:
            problems = self.validator.problems(reply, flow.operation)
            if problems:
                raise self.fail(f"{what}: the error body departs from the spec: {'; '.join(problems)}")
        return outcome

    def tokens(self) -> Tokens:
        tokens = self.session.tokens()
        source = self.session.flow(self.session.profile.token_source or "")
        self.succeed(tokens.reply, source, step=f"getting tokens from {source.name}")
        return tokens
