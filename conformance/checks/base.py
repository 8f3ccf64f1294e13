"""The check registry and the context a check runs in.

A check is a small function registered under a stable name; requirements in the specs name the
check that decides them, so every requirement has one, and every check serves requirements.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from conformance.checks.options import NoOptions
from conformance.model.errors import MissingPrerequisite, PreconditionFailed
from conformance.model.pointer import MISSING, resolve
from conformance.model.sanitize import visible
from conformance.model.spec import ErrorCode, Flow, Requirement
from conformance.model.violation import Violation
from conformance.target.client import Reply
from conformance.target.evidence import Recorder
from conformance.target.outcome import Outcome, classify
from conformance.target.session import ProfileSession
from conformance.target.tokens import Tokens
from conformance.target.validation import ResponseValidator

Check = Callable[["CheckContext"], None]


def role_param(flow: Flow, role: str) -> str:
    """The parameter of `flow` that carries `role` (the spec's x-role)."""
    for name in flow.params:
        if flow.operation.params[name].role == role:
            return name
    raise PreconditionFailed(f"{flow.name} sends no parameter with role {role}")


def sent_by_role(flow: Flow, sent: dict[str, Any], role: str) -> str | None:
    """The value a request of `flow` carried for `role` (`sent`: the session's last_sent), if any."""
    params = flow.operation.params
    return next((str(v) for n, v in sent.items() if n in params and params[n].role == role), None)


def redirects_to(location: str, uri: str) -> bool:
    """A Location at `uri` itself, or at it with a query or fragment added (`?`, `&` or `#`)."""
    return location.startswith(uri) and location[len(uri) : len(uri) + 1] in ("", "?", "&", "#")


def bogus(kind: str) -> str:
    """A value no target issued: a made-up code, token or client."""
    return f"bogus-{kind}-{secrets.token_hex(8)}"


@dataclass(frozen=True)
class Traits:
    """What a check is, declared by the check itself, so no other module knows a check by its name.

    The engine schedules by these (a check that moves the clock or needs the target alone runs
    exclusively on a shared target; heavy ones start first); `init` and `oauth2-conformance checks`
    explain them; the lifecycle state machine finds the rules a profile states by `lifecycle`.
    """

    moves_clock: bool = False  # advances the target's clock through clock_url (waits it out without one)
    needs_target_alone: bool = False  # another requirement running meanwhile could decide it
    needs_second_client: bool = False  # presents one client's code or token as another client
    weight: int = 1  # a rough cost in exchanges, for ordering parallel runs (heaviest first)
    hypothesis: bool = False  # driven by Hypothesis (a property or the lifecycle state machine)
    lifecycle: str | None = None  # the lifecycle rule it states: code, refresh_once, rotates, destroy


@dataclass(frozen=True)
class Declaration:
    """A registered check: its name in the specs, the function, its options' type and its traits."""

    name: str
    run: Check
    options: type[Any]
    traits: Traits

    @property
    def summary(self) -> str:
        """The first paragraph of the check's docstring: what it sends and what it accepts."""
        doc = (self.run.__doc__ or "").strip()
        return " ".join(doc.split("\n\n")[0].split())


REGISTRY: dict[str, Declaration] = {}


def check(name: str, options: type[Any] = NoOptions, traits: Traits = Traits()) -> Callable[[Check], Check]:
    """Register a check under `name`, the value of `check:` in the specs, with its options and traits."""

    def register(fn: Check) -> Check:
        if name in REGISTRY:
            raise ValueError(f"check {name!r} registered twice")
        REGISTRY[name] = Declaration(name, fn, options, traits)
        return fn

    return register


@dataclass
class CheckContext:
    """What one requirement's check works with: the session, the validator, and its own evidence."""

    session: ProfileSession
    validator: ResponseValidator
    requirement: Requirement
    recorder: Recorder = field(default_factory=Recorder)
    options: Any = field(default_factory=NoOptions)  # typed by the check's declaration, bound by the plan
    _verdicts: dict[str, Any] = field(default_factory=dict)  # flow -> its answer's verdict for a live token

    # -- what the requirement is about ------------------------------------------------------
    @property
    def flow(self) -> Flow:
        if self.requirement.flow is None:
            raise PreconditionFailed(f"{self.requirement.id} names no flow")
        return self.session.flow(self.requirement.flow)

    def option(self, name: str, default: Any = None) -> Any:
        """One typed option, or `default` when the spec does not set it."""
        return getattr(self.options, name) if name in self.requirement.options else default

    def let_time_pass(self, seconds: float) -> None:
        """Let `seconds` pass on the target: move its clock if it has one (the check's traits must say
        `moves_clock`, so a parallel run gives it the target alone), else wait if max_wait allows."""
        config = self.session.config
        if config.clock_url:
            self.session.move_clock(seconds)
        elif seconds <= config.max_wait:
            time.sleep(seconds)
        else:
            raise MissingPrerequisite(
                f"{seconds:g} s of the target's time must pass, longer than max_wait={config.max_wait:g} s "
                "(set clock_url, or raise max_wait, to check it)"
            )

    def line(self, code: ErrorCode) -> str:
        error = self.session.profile.error
        where = error.codes.get(code) if error else None
        return f" ({self.session.profile.source(where)})" if where else ""

    # -- verdicts ---------------------------------------------------------------------------
    def fail(self, message: str) -> Violation:
        """A violation of this requirement, carrying every exchange of the test as evidence."""
        masked = visible(self.session.masker.mask(message))  # allure and junit copy it as they get it
        return Violation(self.requirement, masked, list(self.recorder.example))

    def advise(self, message: str) -> Violation:
        """A finding no document line states (RFC-derived advice): a warning at any level."""
        masked = visible(self.session.masker.mask(f"{message} (advice: no document line states it)"))
        return Violation(self.requirement, masked, [*self.recorder.example], advice=True)

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

    def expect_error(self, reply: Reply, codes: Iterable[ErrorCode], what: str, flow: Flow | None = None) -> Outcome:
        """The reply must be an error of the profile's dialect, with one of `codes` if it has codes.

        A 5xx without the dialect's failure signal is a crash, not a refusal: it fails. A 5xx that
        carries the documented signal did refuse; where the document states no error status, the 5xx
        itself is advice (a warning), once everything else about the refusal holds."""
        flow = flow or self.flow
        codes = tuple(codes)
        outcome = self.outcome(reply, flow)
        error = self.session.profile.error
        statuses = self.session.profile.error_status(flow)  # the flow's own, else the profile's
        signalled = self.signalled(reply, flow)
        if reply.status >= 500 and not (signalled and error is not None and not statuses):
            raise self.fail(f"{what}: the server failed with HTTP {reply.status} instead of answering an error")
        if outcome.success and flow.verdict:
            if self.negative(reply, flow):
                return outcome  # a token check that answers "not valid" refused it in its own words
            raise self.fail(
                f"{what}: answered with success and the same {flow.verdict} as a live token "
                f"({resolve(reply.json(), flow.verdict)!r}); it must fail, or say the token is not valid"
            )
        if outcome.success:
            raise self.fail(f"{what}: the request was accepted ({outcome.describe(reply)}); an error was expected")
        if error is not None and error.code and codes and outcome.error_code not in codes:
            wanted = " or ".join(f"{c}{self.line(c)}" for c in codes)
            got = outcome.error_code or f"no error code ({outcome.describe(reply)})"
            raise self.fail(f"{what}: expected error {wanted}, got {got}")
        if outcome.redirected_error:
            return outcome
        if error is not None and statuses and reply.status not in statuses:
            raise self.fail(f"{what}: an error must be HTTP {'/'.join(map(str, statuses))}, got {reply.status}")
        # A 4xx without the dialect's signal, where the document states no error status, is an HTTP
        # refusal: its body is not judged against the dialect's error schema (UserCenter, line 68).
        unsignalled_http_error = 400 <= reply.status < 500 and not signalled and error is not None and not statuses
        if error is not None and not unsignalled_http_error:
            problems = self.validator.problems(reply, flow.operation)
            if problems:
                raise self.fail(f"{what}: the error body departs from the spec: {'; '.join(problems)}")
        if reply.status >= 500:
            raise self.advise(f"{what}: refused with the documented failure signal, but with HTTP {reply.status}")
        return outcome

    def signalled(self, reply: Reply, flow: Flow | None = None) -> bool:
        """The reply carries the dialect's own failure signal (its `error` predicate holds), not merely
        something other than a success."""
        flow = flow or self.flow
        error = self.session.profile.error
        flag = flow.error_when or (error.when if error is not None else None)
        return error is not None and flag is not None and self.outcome(reply, flow).error

    def live_verdict(self, flow: Flow) -> Any:
        """What `flow` (one with a `verdict` pointer) answers for a live access token."""
        assert flow.verdict is not None
        if flow.name not in self._verdicts:
            reply = self.session.call(flow, tokens=self.tokens())
            self.succeed(reply, flow, step=f"{flow.name} with a live access token")
            self._verdicts[flow.name] = resolve(reply.json(), flow.verdict)
        return self._verdicts[flow.name]

    def negative(self, reply: Reply, flow: Flow) -> bool:
        """A success of a flow with a `verdict` whose verdict differs from a live token's: the answer
        says the token is not valid (UserCenter's checkOauthToken status 1, result negative)."""
        if flow.verdict is None:
            return False
        verdict = resolve(reply.json(), flow.verdict)
        return verdict is MISSING or verdict != self.live_verdict(flow)

    def positive(self, reply: Reply, flow: Flow | None = None) -> bool:
        """The flow accepted the token it was sent: a success, and not a negative verdict."""
        flow = flow or self.flow
        return self.outcome(reply, flow).success and not self.negative(reply, flow)

    def tokens(self) -> Tokens:
        tokens = self.session.tokens()
        source = self.session.flow(self.session.profile.token_source or "")
        self.succeed(tokens.reply, source, step=f"getting tokens from {source.name}")
        return tokens
