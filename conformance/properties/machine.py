"""A stateful model of a profile's token lifecycle (hypothesis.stateful).

Rules issue codes, exchange, replay, refresh, destroy and probe tokens in random interleavings; a
model tracks which codes and tokens must still work. Which rules the model enforces comes from
the profile's own (non-advisory) requirements, so a vendor is held only to what its document says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hypothesis import HealthCheck, seed, settings
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, run_state_machine_as_test

from ..checks.base import CheckContext, check, role_param
from ..client import Reply
from ..errors import PreconditionFailed
from ..session import Tokens
from ..spec import Flow, Requirement

T = TypeVar("T")


@dataclass
class Rules:
    """The lifecycle rules a profile states, each with the requirement that states it."""

    code: tuple[Flow, Requirement] | None = None
    refresh_once: tuple[Flow, Requirement] | None = None
    rotates: tuple[Flow, Requirement] | None = None
    destroy: tuple[Flow, Requirement] | None = None
    refresh_flow: Flow | None = None
    probes: list[Flow] = field(default_factory=list)


def rules_of(ctx: CheckContext) -> Rules:
    session = ctx.session
    profile = session.profile
    found = Rules()
    for r in profile.requirements:
        if r.advisory or r.flow is None or r.level != "MUST":
            continue
        flow = session.flow(r.flow)
        if r.check == "code_single_use" and found.code is None:
            found.code = (flow, r)
        elif r.check == "refresh_single_use" and found.refresh_once is None:
            found.refresh_once = (flow, r)
        elif r.check == "refresh_rotates" and found.rotates is None:
            found.rotates = (flow, r)
        elif r.check == "destroy_revokes" and found.destroy is None:
            found.destroy = (flow, r)
    refresh = found.rotates or found.refresh_once
    found.refresh_flow = (
        refresh[0]
        if refresh
        else next(
            (
                f
                for f in profile.flows.values()
                if "refresh_token" in {f.operation.params[n].role for n in f.params}
                and f.issues.get("access_token")
                and not any(f.operation.params[n].role == "expire_days" for n in f.params)
            ),
            None,
        )
    )
    if found.destroy is not None:  # only a destroy rule needs probing, and only with harmless flows
        found.probes = [session.flow(name) for name in found.destroy[1].options.get("probes", ())]
    return found


def machine_for(ctx: CheckContext, rules: Rules) -> type[RuleBasedStateMachine]:
    session = ctx.session
    source = session.flow(session.profile.token_source or "")

    def broke(requirement: Requirement, message: str) -> None:
        raise ctx.fail(f"{requirement.cite()} broken in a sequence: {message}")

    def expect_refused(requirement: Requirement, flow: Flow, reply_of: Callable[[], Reply], what: str) -> None:
        reply = reply_of()
        outcome = ctx.outcome(reply, flow)
        if outcome.success or reply.status >= 500:
            broke(requirement, f"{what}: got {outcome.describe(reply)}")

    undecided: list[PreconditionFailed] = []

    class Lifecycle(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            if undecided:
                raise undecided[0]
            ctx.recorder.next_example()
            self.fresh: list[str] = []
            self.used: list[str] = []
            self.live: list[Tokens] = []
            self.spent: list[Tokens] = []  # refresh tokens that must be refused
            self.destroyed: list[Tokens] = []
            self.origin: dict[str, str] = {}  # access token -> the code it descends from
            self.turn = 0

        def can(self, name: str) -> bool:
            return {
                "new_code": rules.code is not None,
                "exchange": bool(self.fresh),
                "replay_code": bool(self.used),
                "issue_tokens": rules.code is None or source.name != rules.code[0].name,
                "refresh": rules.refresh_flow is not None and any(t.refresh_token for t in self.live),
                "replay_refresh": rules.refresh_once is not None and bool(self.spent),
                "destroy": rules.destroy is not None and bool(self.live),
                "probe": bool(rules.probes) and bool(self.live or self.destroyed),
            }[name]

        def pick(self, items: list[T]) -> T:
            """Deterministic given the sequence of rules, so a sequence replays exactly."""
            self.turn += 1
            return items[self.turn % len(items)]

        @precondition(lambda self: self.can("new_code"))
        @rule()
        def new_code(self) -> None:
            self.fresh.append(session.new_code())

        @precondition(lambda self: self.can("exchange"))
        @rule()
        def exchange(self) -> None:
            assert rules.code is not None
            flow, _requirement = rules.code
            code = self.fresh.pop(0)
            reply = session.call(flow, {role_param(flow, "code"): code})
            ctx.succeed(reply, flow, step="exchanging a fresh code")
            self.used.append(code)
            tokens = Tokens(
                session.issued(reply, flow, "access_token"), session.issued(reply, flow, "refresh_token"), reply
            )
            self.live.append(tokens)
            self.origin[str(tokens.access_token)] = code

        @precondition(lambda self: self.can("replay_code"))
        @rule()
        def replay_code(self) -> None:
            assert rules.code is not None
            flow, requirement = rules.code
            code = self.pick(self.used)
            expect_refused(
                requirement,
                flow,
                lambda: session.call(flow, {role_param(flow, "code"): code}),
                "a used code was accepted again",
            )
            # RFC 6749 §4.1.2: the server SHOULD now revoke what the code gave; stop relying on it.
            self.live = [t for t in self.live if self.origin.get(str(t.access_token)) != code]

        @precondition(lambda self: self.can("issue_tokens"))
        @rule()
        def issue_tokens(self) -> None:
            tokens = session.tokens()
            ctx.succeed(tokens.reply, source, step="getting tokens")
            self.live.append(tokens)

        @precondition(lambda self: self.can("refresh"))
        @rule()
        def refresh(self) -> None:
            flow = rules.refresh_flow
            assert flow is not None
            old = self.pick([t for t in self.live if t.refresh_token])
            reply = session.call(flow, tokens=old)
            ctx.succeed(reply, flow, step="refreshing live tokens")
            new = Tokens(
                session.issued(reply, flow, "access_token"), session.issued(reply, flow, "refresh_token"), reply
            )
            if rules.rotates is not None:
                for role in ("access_token", "refresh_token"):
                    if getattr(new, role) == getattr(old, role):
                        broke(rules.rotates[1], f"a refresh returned the same {role}")
            # Where the document is silent on the old tokens after a refresh, the model stops
            # using them: their fate is not something this profile promises.
            self.live.remove(old)
            if rules.refresh_once is not None:
                self.spent.append(old)
            self.live.append(new)
            if str(old.access_token) in self.origin:
                self.origin[str(new.access_token)] = self.origin[str(old.access_token)]

        @precondition(lambda self: self.can("replay_refresh"))
        @rule()
        def replay_refresh(self) -> None:
            assert rules.refresh_once is not None
            flow, requirement = rules.refresh_once
            old = self.pick(self.spent)
            expect_refused(
                requirement, flow, lambda: session.call(flow, tokens=old), "a used refresh token was accepted again"
            )

        @precondition(lambda self: self.can("destroy"))
        @rule()
        def destroy(self) -> None:
            assert rules.destroy is not None
            flow, _ = rules.destroy
            doomed = self.pick(self.live)
            ctx.succeed(session.call(flow, tokens=doomed), flow, step="destroying a live token")
            self.live.remove(doomed)
            self.destroyed.append(doomed)

        @precondition(lambda self: self.can("probe"))
        @rule()
        def probe(self) -> None:
            for tokens in self.live + self.destroyed:
                self.probe_one(tokens)

        def probe_one(self, tokens: Tokens) -> None:
            for flow in rules.probes:
                reply = session.call(flow, tokens=tokens)
                ok = ctx.outcome(reply, flow).success
                if tokens in self.destroyed and ok and rules.destroy is not None:
                    broke(rules.destroy[1], f"{flow.name} accepted a destroyed token")
                if tokens in self.live and not ok and rules.destroy is not None:
                    broke(rules.destroy[1], f"{flow.name} refused a token that was never destroyed")

    for name in RULES:
        setattr(Lifecycle, name, _guard(getattr(Lifecycle, name), undecided))
    return Lifecycle


# Every rule once, in an order where each can run: the canonical sequence that is always tried
# first, so a broken rule is found whatever the seed; random interleavings follow.
RULES = ("new_code", "exchange", "replay_code", "issue_tokens", "refresh", "replay_refresh", "probe", "destroy")
CANONICAL = (
    "issue_tokens",
    *RULES,
    "probe",
    "new_code",
    "exchange",
    "refresh",
    "refresh",
    "replay_refresh",
    "replay_code",
)


def run_canonical(machine: type[RuleBasedStateMachine]) -> None:
    instance: Any = machine()
    try:
        for name in CANONICAL:
            if instance.can(name):
                getattr(instance, name)()
    finally:
        instance.teardown()


def _guard(rule_fn: Callable[..., None], undecided: list[PreconditionFailed]) -> Callable[..., None]:
    """A rule whose step cannot be taken ends the run undecided instead of being shrunk."""
    wrapped = getattr(rule_fn, "__wrapped__", None)
    del wrapped

    def guarded(self: RuleBasedStateMachine, **kwargs: object) -> None:
        if undecided:
            return
        try:
            rule_fn(self, **kwargs)
        except PreconditionFailed as exc:
            undecided.append(exc)

    for attr in vars(rule_fn):
        setattr(guarded, attr, getattr(rule_fn, attr))
    return guarded


@check("lifecycle_model")
def lifecycle_model(ctx: CheckContext) -> None:
    rules = rules_of(ctx)
    if rules.code is None and rules.refresh_flow is None and rules.destroy is None:
        raise PreconditionFailed("the profile states no lifecycle rule to model")
    machine = seed(ctx.session.seed)(machine_for(ctx, rules))
    run_canonical(machine)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=ctx.session.examples,
            stateful_step_count=8,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
