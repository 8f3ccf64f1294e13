"""Checks on lifetimes: units, defaults, clamping, and things that stop working when they expire.

Every allowance is relative to the lifetime it is about (model/tolerance.py): a requirement's own
`tolerance`, else (for an expiry the target states) the profile's `expiry_tolerance`, else 2 % of the
lifetime, 5 s to 1 h. A credential refused just before its lifetime ends fails only once a fresh one,
obtained the same way and used at once, is accepted: then it died early; otherwise the check is not run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from conformance.checks.base import CheckContext, Traits, check, role_param
from conformance.checks.options import Introspection, Lifetime, Refusal, Tolerant
from conformance.model.errors import PreconditionFailed
from conformance.model.pointer import resolve
from conformance.model.spec import Flow
from conformance.model.tolerance import DEFAULT, Tolerance
from conformance.target.client import Reply
from conformance.target.tokens import Tokens

TEN_YEARS = 10 * 365 * 86400
BUSY = (429, 503)  # a refusal that says the target is busy, not that the credential is dead


def tolerance_for(ctx: CheckContext, *, stated: bool = True) -> Tolerance:
    """The requirement's own `tolerance`, else (for an expiry the target states) the profile's
    expiry_tolerance (Ekuaibao: a day, its expiries are counted in days, line 37), else the default."""
    own = ctx.option("tolerance")
    if isinstance(own, Tolerance):
        return own
    profile = ctx.session.profile.expiry_tolerance
    return profile if stated and profile is not None else DEFAULT


def tolerance(ctx: CheckContext, lifetime: float, *, stated: bool = True) -> float:
    """How far, in seconds, an expiry `lifetime` seconds away may be off (tolerance_for, relative to it)."""
    return tolerance_for(ctx, stated=stated).of(lifetime)


def died_early(
    ctx: CheckContext, what: str, refused: Reply | None, retry: Callable[[], tuple[bool, Reply | None]]
) -> NoReturn:
    """`what` was refused just before its lifetime ends. A refusal alone may be the target's doing
    (busy, or refusing every such credential now), so a fresh one is obtained the same way and used at
    once (`retry`: accepted?, its answer). Accepted: the first one died early, a failure whose evidence
    is both exchanges. Refused too, busy (429/503), or the grant itself refused: not run, naming why."""
    if refused is not None and refused.status in BUSY:
        raise PreconditionFailed(
            f"{what}: the target answered HTTP {refused.status} (busy), which says nothing of its lifetime"
        )
    accepted, fresh = retry()  # a grant that is refused raises PreconditionFailed itself
    if fresh is not None and fresh.status in BUSY:
        raise PreconditionFailed(f"{what} was refused, and a fresh one got HTTP {fresh.status} (busy): undecided")
    if not accepted:
        raise PreconditionFailed(
            f"{what} was refused, and so was a fresh one used at once: the target refuses them all now"
        )
    raise ctx.fail(f"{what} was refused, yet a fresh one obtained the same way was accepted at once: it died early")


def feature_expiry_ms(ctx: CheckContext, flow: Flow) -> float | None:
    """The feature's own expiry (Ekuaibao lines 61, 142), epoch ms: from the config, or observed as the
    common answer of `flow` (a custom expiry in days) to two huge requests: a clamped expiry cannot
    depend on how far beyond it the request reaches (within the tolerance of the lifetime it states).
    A refusal of them is no clamp: it fails."""
    configured = ctx.session.config.feature_expiry_ms
    if configured is not None:
        return float(configured)
    param = role_param(flow, "expire_days")
    answers = []
    sent_at = ctx.session.now()
    for days in (100_000, 1_000_000):
        reply = ctx.session.call(flow, {param: str(days)})
        outcome = ctx.outcome(reply, flow)
        if not outcome.success:
            raise ctx.fail(
                f"{flow.title} with {param}={days}: refused ({outcome.describe(reply)}); a custom expiry beyond "
                "the feature's expiry must be cut to it, not refused"
            )
        answers.append(expiry_value(ctx, reply, flow))
    if abs(answers[0] - answers[1]) > tolerance(ctx, answers[1] / 1000 - sent_at) * 1000:
        raise ctx.fail(
            f"{param}=100000 and {param}=1000000 expire at {answers[0]} and {answers[1]}: "
            "the custom expiry is not clamped to the feature's expiry"
        )
    return float(answers[1])


def expiry_value(ctx: CheckContext, reply: Any, flow: Flow | None = None) -> int:
    flow = flow or ctx.flow
    value = ctx.session.issued(reply, flow, "expiry")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ctx.fail(f"{flow.title}: the expiry must be an integer, got {value!r}")
    return value


def lifetime_seconds(ctx: CheckContext, value: int, sent_at: float) -> float:
    """The lifetime an expiry field states, in seconds, whatever the unit."""
    if ctx.flow.expiry_unit == "epoch_ms":
        return value / 1000 - sent_at
    return float(value)


@check("expiry_unit")
def expiry_unit(ctx: CheckContext) -> None:
    """The expiry a success states is in the flow's `expiry_unit`: an epoch-millisecond time in the future
    (`epoch_ms`, less the tolerance of the lifetime it states; a seconds value is named as such) or a
    lifetime of 1 s to ten years (`seconds`)."""
    flow = ctx.flow
    sent_at = ctx.session.now()
    reply = ctx.session.call(flow)
    ctx.succeed(reply)
    value = expiry_value(ctx, reply)
    if flow.expiry_unit == "epoch_ms":
        now_ms = sent_at * 1000
        allowance_ms = tolerance(ctx, value / 1000 - sent_at) * 1000
        if not now_ms - allowance_ms < value < now_ms + 100 * 365 * 86400 * 1000:
            seconds_reading = abs(value - sent_at) < 100 * 365 * 86400
            hint = " (it reads as epoch seconds)" if seconds_reading else ""
            raise ctx.fail(f"{flow.title}: expiry {value} is not an epoch-millisecond time in the future{hint}")
    elif not 0 < value <= TEN_YEARS:
        raise ctx.fail(f"{flow.title}: expiry {value} is not a lifetime in seconds (expected 1..{TEN_YEARS})")


@dataclass(frozen=True)
class DefaultLifetime(Lifetime):
    """`seconds`: the documented default lifetime; `tolerance`: how far it may be off; `clamped_by`: a
    flow whose custom expiry shows the feature's own expiry, which cuts the default short when it comes first."""

    clamped_by: str = ""


@check("expiry_default", options=DefaultLifetime)
def expiry_default(ctx: CheckContext) -> None:
    """A valid request without a lifetime parameter states a lifetime of `seconds`, within a tolerance
    relative to it (the requirement's `tolerance`, else the spec's expiry_tolerance, else 2 %, 5 s to
    1 h), read from the flow's `issues.expiry` in its `expiry_unit`; with `clamped_by`, an expiry cut to
    the feature's own (observed at that flow) passes."""
    flow = ctx.flow
    expected = float(ctx.option("seconds"))
    allowance = tolerance(ctx, expected)
    sent_at = ctx.session.now()
    reply = ctx.session.call(flow)
    ctx.succeed(reply)
    value = expiry_value(ctx, reply)
    lifetime = lifetime_seconds(ctx, value, sent_at)
    if abs(lifetime - expected) <= allowance:
        return
    clamp = ctx.option("clamped_by")
    if clamp and flow.expiry_unit == "epoch_ms" and lifetime < expected:
        feature = feature_expiry_ms(ctx, ctx.session.flow(clamp))
        if feature is not None and abs(value - feature) <= tolerance(ctx, lifetime) * 1000:
            return  # the feature expires first: the default is cut to it (decision, Ekuaibao line 61)
    raise ctx.fail(
        f"{flow.title}: the default lifetime must be {expected:g} s ({expected / 86400:g} days), "
        f"the answer states {lifetime:.0f} s ({lifetime / 86400:.2f} days), "
        f"outside {tolerance_for(ctx).describe(expected)}"
    )


@check("code_expires", options=Lifetime, traits=Traits(moves_clock=True))
def code_expires(ctx: CheckContext) -> None:
    """Of two fresh codes, the first is exchanged the tolerance before `seconds` have passed and must
    succeed; the second, exchanged the tolerance after, must get an error (one of `expect_error`). The
    tolerance is the requirement's `tolerance`, else 2 % of `seconds` (5 s to 1 h). A first code refused
    fails only if a fresh code, issued the same way (with another after it) and exchanged at once, is
    accepted (it died early); else it is not run.
    Time passes through clock_url, or is waited out up to max_wait; otherwise the requirement is not run."""
    flow = ctx.flow
    param = role_param(flow, "code")
    lifetime = float(ctx.option("seconds"))
    allowance = tolerance(ctx, lifetime, stated=False)
    early, late = ctx.session.new_code(), ctx.session.new_code()
    before = max(lifetime - allowance, 0)
    ctx.let_time_pass(before)
    reply = ctx.session.call(flow, {param: early})
    if not ctx.outcome(reply).success:

        def fresh_code() -> tuple[bool, Reply | None]:
            # Issued as the first was, with another after it: a target that ends a code when the next
            # one is issued refuses this one too, and so is not run rather than failed.
            first, _next = ctx.session.new_code(), ctx.session.new_code()
            again = ctx.session.call(flow, {param: first})
            return ctx.outcome(again).success, again

        died_early(
            ctx, f"{flow.title}: a code exchanged {before:.0f} s into its {lifetime:.0f} s lifetime", reply, fresh_code
        )
    ctx.let_time_pass(lifetime + allowance + 1 - before)
    reply = ctx.session.call(flow, {param: late})
    what = f"a code used {allowance + 1:g} s after its {lifetime:g} s lifetime"
    ctx.expect_error(reply, ctx.option("expect_error", ()), what)


@check("refresh_token_expires", options=Lifetime, traits=Traits(moves_clock=True))
def refresh_token_expires(ctx: CheckContext) -> None:
    """Of two fresh grants, the first's refresh token is used the tolerance before `seconds` have passed
    and must work; the second's, used the tolerance after, must get an error (one of `expect_error`). The
    tolerance is the requirement's `tolerance`, else 2 % of `seconds` (5 s to 1 h). A first refresh token
    refused fails only if a fresh grant's (with another grant after it), used at once, works (it died
    early); else it is not run.
    Time passes through clock_url, or is waited out up to max_wait; otherwise the requirement is not run."""
    flow = ctx.flow
    lifetime = float(ctx.option("seconds"))
    allowance = tolerance(ctx, lifetime, stated=False)
    early, late = ctx.tokens(), ctx.tokens()
    before = max(lifetime - allowance, 0)
    ctx.let_time_pass(before)
    reply = ctx.session.call(flow, tokens=early)
    if not ctx.outcome(reply).success:

        def fresh_grant() -> tuple[bool, Reply | None]:
            # Granted as the first was, with another grant after it: a target that ends earlier tokens
            # on a new grant (Yixin, line 35) refuses this one too, and so is not run rather than failed.
            first, _next = ctx.tokens(), ctx.tokens()
            again = ctx.session.call(flow, tokens=first)
            return ctx.outcome(again).success, again

        what = f"{flow.title}: a refresh token used {before:.0f} s into its {lifetime:.0f} s lifetime"
        died_early(ctx, what, reply, fresh_grant)
    ctx.let_time_pass(lifetime + allowance + 1 - before)
    reply = ctx.session.call(flow, tokens=late)
    what = f"a refresh token used {allowance + 1:g} s after its {lifetime:g} s lifetime"
    ctx.expect_error(reply, ctx.option("expect_error", ()), what)


@check("refresh_after_expiry_rejected", options=Refusal, traits=Traits(moves_clock=True))
def refresh_after_expiry_rejected(ctx: CheckContext) -> None:
    """Once the access token's stated lifetime (from the token_source flow) and its tolerance have
    passed, a refresh with its refresh token gets an error, one of `expect_error`. Time passes through
    clock_url, or is waited out up to max_wait; otherwise the requirement is not run."""
    flow = ctx.flow
    sent_at = ctx.session.now()
    tokens = ctx.tokens()
    lifetime = token_lifetime(ctx, tokens, sent_at)
    ctx.let_time_pass(lifetime + tolerance(ctx, lifetime) + 1)
    reply = ctx.session.call(flow, tokens=tokens)
    ctx.expect_error(reply, ctx.option("expect_error", ()), "a refresh after the access token expired")


@dataclass(frozen=True)
class ExpiredProbe(Introspection, Tolerant, Refusal):
    """`expect_error`: the codes the probe flow must answer an expired access token with (empty: it need
    only stop working); `tolerance`: how far the stated lifetime may be off."""


def token_lifetime(ctx: CheckContext, tokens: Tokens, sent_at: float) -> float:
    """The access token's lifetime in seconds, as the token source's answer (`tokens`, asked for at
    `sent_at`) states it in its expiry unit; a digit string counts."""
    source = ctx.session.flow(ctx.session.profile.token_source or "")
    raw = ctx.session.issued(tokens.reply, source, "expiry")
    value = int(raw) if isinstance(raw, str) and raw.isdigit() else raw
    if isinstance(value, bool) or not isinstance(value, int):
        raise PreconditionFailed(f"{source.name} states no expiry to wait for")
    return value / 1000 - sent_at if source.expiry_unit == "epoch_ms" else float(value)


@check("access_token_expires", options=ExpiredProbe, traits=Traits(moves_clock=True))
def access_token_expires(ctx: CheckContext) -> None:
    """An access token works until the tolerance before its stated lifetime is over, and not from the
    tolerance after (the probe flow sees it); the tolerance is the requirement's `tolerance`, else the
    spec's expiry_tolerance, else 2 % of the lifetime (5 s to 1 h). One refused early fails only if a
    fresh one, probed at once, works (it died early); else it is not run. With `expect_error`, the
    probe's refusal of the expired token carries one of those codes."""
    session = ctx.session
    probe = ctx.flow
    active = ctx.option("active_pointer")

    def accepted(tokens: Any) -> tuple[bool, Reply]:
        reply = session.call(probe, tokens=tokens)
        if not ctx.outcome(reply, probe).success:
            return False, reply
        return active is None or resolve(reply.json(), active) is True, reply

    sent_at = session.now()
    tokens = ctx.tokens()
    lifetime = token_lifetime(ctx, tokens, sent_at)
    allowance = tolerance(ctx, lifetime)
    if not accepted(tokens)[0]:
        raise PreconditionFailed(f"{probe.name} does not accept a fresh access token")
    before = max(lifetime - allowance, 0)
    ctx.let_time_pass(before)
    works, reply = accepted(tokens)
    if not works:
        what = f"{probe.title}: an access token used {before:.0f} s into its stated {lifetime:.0f} s lifetime"
        died_early(ctx, what, reply, lambda: accepted(ctx.tokens()))
    ctx.let_time_pass(lifetime + allowance + 1 - before)
    if accepted(tokens)[0]:
        raise ctx.fail(
            f"{probe.name} still accepts the access token {lifetime + allowance + 1:g} s after it was issued, past "
            f"its stated {lifetime:g} s lifetime and {tolerance_for(ctx).describe(lifetime)}"
        )
    codes = ctx.option("expect_error", ())
    if codes:
        reply = session.call(probe, tokens=tokens)
        ctx.expect_error(reply, codes, f"{probe.title} with an access token past its {lifetime:g} s lifetime", probe)
