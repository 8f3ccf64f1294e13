"""A stateful model of a profile's token lifecycle (hypothesis.stateful).

Rules issue codes, exchange, replay, refresh, destroy and probe tokens in random interleavings; a
model tracks which codes and tokens must still work. Which rules the model enforces comes from
the profile's own (non-advisory) requirements, so a vendor is held only to what its document says.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hypothesis import HealthCheck, seed, settings
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from conformance.checks.base import REGISTRY, CheckContext, Traits, check, role_param
from conformance.model.errors import UNDECIDED, PreconditionFailed
from conformance.model.spec import Flow, Requirement
from conformance.target.client import Reply
from conformance.target.tokens import Tokens


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
        declaration = REGISTRY.get(r.check)
        rule = declaration.traits.lifecycle if declaration else None
        if rule is not None and getattr(found, rule) is None:
            setattr(found, rule, (flow, r))
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


@dataclass(frozen=True)
class Held:
    """Tokens the model holds: where they came from, and the refresh token they replaced."""

    tokens: Tokens
    code: str | None = None  # the code they descend from (None: from the token source)
    spent: Tokens | None = None  # the tokens a refresh replaced: their refresh token is used up

    @property
    def refreshable(self) -> bool:
        return bool(self.tokens.refresh_token)


class LifecycleMachine(RuleBasedStateMachine):
    """The base of each profile's lifecycle machine."""

    undecided: ClassVar[list[Exception]]  # steps that could not be taken: the run is undecided


def machine_for(ctx: CheckContext, rules: Rules) -> type[LifecycleMachine]:
    """A state machine whose bundles hold fresh codes, live tokens and destroyed tokens, so Hypothesis
    chooses (and shrinks) which code or token each rule uses."""
    session = ctx.session
    source = session.flow(session.profile.token_source or "")
    undecided: list[Exception] = []
    undecided_steps = undecided
    # Tokens whose fate a destroy left unsaid (the user's other tokens): no rule uses them again.
    unsure: set[int] = set()

    def usable(held: Held) -> bool:
        return id(held) not in unsure

    def broke(requirement: Requirement, message: str) -> None:
        raise ctx.fail(f"{requirement.cite()} broken in a sequence: {message}")

    def expect_refused(requirement: Requirement, flow: Flow, reply: Reply, what: str) -> None:
        """Refused: not a success (nor a token check's positive verdict), and no crash; a 5xx that carries
        the documented failure signal, where the document states no error status, is a refusal."""
        outcome = ctx.outcome(reply, flow)
        error = session.profile.error
        signalled = ctx.signalled(reply, flow) and error is not None and not session.profile.error_status(flow)
        if ctx.positive(reply, flow) or (reply.status >= 500 and not signalled):
            broke(requirement, f"{what}: got {outcome.describe(reply)}")

    def undecided_ends_run(rule_fn: Callable[..., Any]) -> Callable[..., Any]:
        """A step that cannot be taken (PreconditionFailed) ends the run undecided instead of being
        shrunk as if the target had broken a rule; later steps do nothing."""

        @functools.wraps(rule_fn)
        def guarded(self: RuleBasedStateMachine, *args: Any, **kwargs: Any) -> Any:
            if undecided:
                return multiple()
            try:
                return rule_fn(self, *args, **kwargs)
            except UNDECIDED as exc:
                undecided.append(exc)
                return multiple()

        return guarded

    def tokens_of(reply: Reply, flow: Flow) -> Tokens:
        return Tokens(session.issued(reply, flow, "access_token"), session.issued(reply, flow, "refresh_token"), reply)

    class Lifecycle(LifecycleMachine):
        undecided = undecided_steps  # a step that could not be taken: the run is undecided
        codes = Bundle("codes")  # fresh codes, not yet exchanged
        live = Bundle("live")  # tokens that must keep working
        destroyed = Bundle("destroyed")  # tokens a destroy rule ended

        def __init__(self) -> None:
            super().__init__()
            if not undecided:  # once undecided, the remaining examples are no-ops (see the check)
                ctx.recorder.next_example()
            unsure.clear()
            # The model's own view, for the probe invariant and the canonical sequence.
            self.alive: list[Held] = []
            self.ended: list[Held] = []
            self.probed: set[tuple[int, bool]] = set()

        def adopt(self, held: Held) -> Held:
            self.alive.append(held)
            return held

        def drop(self, held: Held) -> None:
            if held in self.alive:
                self.alive.remove(held)

        @precondition(lambda self: rules.code is not None)
        @rule(target=codes)
        @undecided_ends_run
        def new_code(self) -> str:
            return session.new_code()

        @rule(target=live, code=consumes(codes))
        @undecided_ends_run
        def exchange(self, code: str) -> Held:
            assert rules.code is not None
            flow, _requirement = rules.code
            reply = session.call(flow, {role_param(flow, "code"): code})
            ctx.succeed(reply, flow, step="exchanging a fresh code")
            return self.adopt(Held(tokens_of(reply, flow), code))

        @rule(held=consumes(live.filter(lambda h: h.code is not None)))
        @undecided_ends_run
        def replay_code(self, held: Held) -> None:
            assert rules.code is not None and held.code is not None
            flow, requirement = rules.code
            reply = session.call(flow, {role_param(flow, "code"): held.code})
            expect_refused(requirement, flow, reply, "a used code was accepted again")
            # RFC 6749 §4.1.2: the server SHOULD now revoke what the code gave; stop relying on it.
            self.drop(held)

        @precondition(lambda self: rules.code is None or source.name != rules.code[0].name)
        @rule(target=live)
        @undecided_ends_run
        def issue_tokens(self) -> Held:
            tokens = session.tokens()
            ctx.succeed(tokens.reply, source, step="getting tokens")
            return self.adopt(Held(tokens))

        @precondition(lambda self: rules.refresh_flow is not None)
        @rule(target=live, held=consumes(live.filter(lambda h: h.refreshable and usable(h))))
        @undecided_ends_run
        def refresh(self, held: Held) -> Held:
            flow = rules.refresh_flow
            assert flow is not None
            reply = session.call(flow, tokens=held.tokens)
            ctx.succeed(reply, flow, step="refreshing live tokens")
            new = tokens_of(reply, flow)
            if rules.rotates is not None:
                for role in ("access_token", "refresh_token"):
                    if getattr(new, role) == getattr(held.tokens, role):
                        broke(rules.rotates[1], f"a refresh returned the same {role}")
            # Where the document is silent on the old tokens after a refresh, the model stops
            # using them: their fate is not something this profile promises.
            self.drop(held)
            return self.adopt(Held(new, held.code, spent=held.tokens if rules.refresh_once else None))

        @precondition(lambda self: rules.refresh_once is not None)
        @rule(held=live.filter(lambda h: h.spent is not None))
        @undecided_ends_run
        def replay_refresh(self, held: Held) -> None:
            assert rules.refresh_once is not None and held.spent is not None
            flow, requirement = rules.refresh_once
            reply = session.call(flow, tokens=held.spent)
            expect_refused(requirement, flow, reply, "a used refresh token was accepted again")

        @precondition(lambda self: rules.destroy is not None)
        @rule(target=destroyed, held=consumes(live.filter(usable)))
        @undecided_ends_run
        def destroy(self, held: Held) -> Held:
            assert rules.destroy is not None
            flow, _ = rules.destroy
            ctx.succeed(session.call(flow, tokens=held.tokens), flow, step="destroying a live token")
            self.drop(held)
            self.ended.append(held)
            # The document says the destroyed token stops working, nothing of the user's others
            # (decision, UserCenter line 264): a destroy may end them too, so the model stops using them.
            unsure.update(id(h) for h in self.alive)
            self.alive.clear()
            return held

        @invariant()
        def probe(self) -> None:
            """Destroyed tokens are refused and live ones accepted, by flows that only look at them.
            Each token is probed once per state, so the invariant costs no more than the rules."""
            if undecided or rules.destroy is None or not rules.probes:
                return
            requirement = rules.destroy[1]
            due = [(h, alive) for h, alive in [*((h, True) for h in self.alive), *((h, False) for h in self.ended)]]
            due = [(h, alive) for h, alive in due if (id(h), alive) not in self.probed]
            self.probed.update((id(h), alive) for h, alive in due)
            # The probes only look: sent side by side (within the target's limit), judged in order.
            calls = [(flow, held.tokens) for held, _ in due for flow in rules.probes]
            replies = iter(session.call_together(calls))
            for _held, alive in due:
                for flow in rules.probes:
                    ok = ctx.positive(next(replies), flow)
                    if not alive and ok:
                        broke(requirement, f"{flow.name} accepted a destroyed token")
                    if alive and not ok:
                        broke(requirement, f"{flow.name} refused a token that was never destroyed")

        def canonical(self) -> None:
            """Every rule once, in an order where each can run, then a second round: always tried
            first, so a broken rule is found whatever the seed; random interleavings follow."""
            issues = rules.code is None or source.name != rules.code[0].name
            for _round in range(2):
                if issues:
                    self.issue_tokens()
                if rules.code is not None:
                    self.exchange(self.new_code())
                refreshable = [h for h in self.alive if h.refreshable]
                if rules.refresh_flow is not None and refreshable:
                    refreshed = self.refresh(refreshable[-1])
                    if rules.refresh_once is not None and isinstance(refreshed, Held):
                        self.replay_refresh(refreshed)
                self.probe()
                coded = [h for h in self.alive if h.code is not None]
                if coded:
                    self.replay_code(coded[-1])
                if rules.destroy is not None and self.alive:
                    self.destroy(self.alive[0])
                    self.probe()

    return Lifecycle


def run_canonical(machine: type[LifecycleMachine]) -> None:
    instance: Any = machine()
    try:
        instance.canonical()
    finally:
        instance.teardown()


def _factory(machine: type[RuleBasedStateMachine]) -> Callable[[], RuleBasedStateMachine]:
    """The machine as a function that builds it. Hypothesis digests the source of what it runs; for
    a class, Python 3.11's inspect parses the whole module each time (ast.parse), which is slow and
    not safe beside another thread's ast.parse (CPython gh-106905); a function's source is found
    from its code object instead. The name stays the class's, so the printed steps do not change."""

    def build() -> RuleBasedStateMachine:
        return machine()

    build.__name__ = build.__qualname__ = machine.__name__
    return build


@check("lifecycle_model", traits=Traits(weight=10, hypothesis=True))
def lifecycle_model(ctx: CheckContext) -> None:
    """A Hypothesis state machine over the profile's stated lifecycle rules (the checks declaring a
    `lifecycle` trait: single-use codes, single-use or rotating refresh tokens, destroy): it issues,
    exchanges, replays, refreshes, destroys and probes codes and tokens in random interleavings, and
    every answer must match what the model says still works. Only rules the profile states are held."""
    rules = rules_of(ctx)
    if rules.code is None and rules.refresh_flow is None and rules.destroy is None:
        raise PreconditionFailed("the profile states no lifecycle rule to model")
    machine = machine_for(ctx, rules)
    run_canonical(machine)
    if not machine.undecided:
        run_state_machine_as_test(
            seed(ctx.session.seed)(_factory(machine)),  # type: ignore[arg-type]  # documented: any factory
            settings=settings(
                max_examples=ctx.session.examples,
                stateful_step_count=8,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            ),
        )
    if machine.undecided:
        raise machine.undecided[0]
