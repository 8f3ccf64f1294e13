"""Checks on lifetimes: units, defaults, clamping, and things that stop working when they expire."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.checks.base import CheckContext, Traits, check, role_param
from conformance.checks.options import Introspection, Lifetime, Refusal
from conformance.model.errors import PreconditionFailed
from conformance.model.pointer import resolve
from conformance.model.spec import Flow

TEN_YEARS = 10 * 365 * 86400
TOLERANCE_S = 600  # clocks of the suite and the target may differ this much


def tolerance_s(ctx: CheckContext) -> float:
    """How far an expiry may be off: the spec's expiry_tolerance (a day where expiries are counted in
    days and may be rounded to a day boundary), else TOLERANCE_S."""
    stated = ctx.session.profile.expiry_tolerance
    return float(stated) if stated is not None else float(TOLERANCE_S)


def feature_expiry_ms(ctx: CheckContext, flow: Flow) -> float | None:
    """The feature's own expiry (Ekuaibao lines 61, 142), epoch ms: from the config, or observed as the
    common answer of `flow` (a custom expiry in days) to two huge requests: a clamped expiry cannot
    depend on how far beyond it the request reaches. A refusal of them is no clamp: it fails."""
    configured = ctx.session.config.feature_expiry_ms
    if configured is not None:
        return float(configured)
    param = role_param(flow, "expire_days")
    answers = []
    for days in (100_000, 1_000_000):
        reply = ctx.session.call(flow, {param: str(days)})
        outcome = ctx.outcome(reply, flow)
        if not outcome.success:
            raise ctx.fail(
                f"{flow.title} with {param}={days}: refused ({outcome.describe(reply)}); a custom expiry beyond "
                "the feature's expiry must be cut to it, not refused"
            )
        answers.append(expiry_value(ctx, reply, flow))
    if abs(answers[0] - answers[1]) > tolerance_s(ctx) * 1000:
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
    (`epoch_ms`, a seconds value is named as such) or a lifetime of 1 s to ten years (`seconds`)."""
    flow = ctx.flow
    sent_at = ctx.session.now()
    reply = ctx.session.call(flow)
    ctx.succeed(reply)
    value = expiry_value(ctx, reply)
    if flow.expiry_unit == "epoch_ms":
        now_ms = sent_at * 1000
        if not now_ms - tolerance_s(ctx) * 1000 < value < now_ms + 100 * 365 * 86400 * 1000:
            seconds_reading = abs(value - sent_at) < 100 * 365 * 86400
            hint = " (it reads as epoch seconds)" if seconds_reading else ""
            raise ctx.fail(f"{flow.title}: expiry {value} is not an epoch-millisecond time in the future{hint}")
    elif not 0 < value <= TEN_YEARS:
        raise ctx.fail(f"{flow.title}: expiry {value} is not a lifetime in seconds (expected 1..{TEN_YEARS})")


@dataclass(frozen=True)
class DefaultLifetime(Lifetime):
    """`seconds`: the documented default lifetime; `clamped_by`: a flow whose custom expiry shows the
    feature's own expiry, which cuts the default short when it comes first."""

    clamped_by: str = ""


@check("expiry_default", options=DefaultLifetime)
def expiry_default(ctx: CheckContext) -> None:
    """A valid request without a lifetime parameter states a lifetime of `seconds` (within the spec's
    expiry_tolerance, else the clocks' 600 s), read from the flow's `issues.expiry` in its
    `expiry_unit`; with `clamped_by`, an expiry cut to the feature's own (observed at that flow) passes."""
    flow = ctx.flow
    expected = float(ctx.option("seconds"))
    tolerance = tolerance_s(ctx)
    sent_at = ctx.session.now()
    reply = ctx.session.call(flow)
    ctx.succeed(reply)
    value = expiry_value(ctx, reply)
    lifetime = lifetime_seconds(ctx, value, sent_at)
    if abs(lifetime - expected) <= tolerance:
        return
    clamp = ctx.option("clamped_by")
    if clamp and flow.expiry_unit == "epoch_ms" and lifetime < expected:
        feature = feature_expiry_ms(ctx, ctx.session.flow(clamp))
        if feature is not None and abs(value - feature) <= tolerance * 1000:
            return  # the feature expires first: the default is cut to it (decision, Ekuaibao line 61)
    raise ctx.fail(
        f"{flow.title}: the default lifetime must be {expected:g} s ({expected / 86400:g} days), "
        f"the answer states {lifetime:.0f} s ({lifetime / 86400:.2f} days)"
    )


@check("code_expires", options=Lifetime, traits=Traits(moves_clock=True))
def code_expires(ctx: CheckContext) -> None:
    """Of two fresh codes, the first is exchanged a minute before `seconds` have passed and must succeed; the
    second, exchanged a second after, must get an error (one of `expect_error`). Time passes through
    clock_url, or is waited out up to max_wait; otherwise the requirement is not run."""
    flow = ctx.flow
    param = role_param(flow, "code")
    lifetime = float(ctx.option("seconds"))
    early, late = ctx.session.new_code(), ctx.session.new_code()
    ctx.let_time_pass(max(lifetime - 60, 0))
    ctx.succeed(ctx.session.call(flow, {param: early}), step="a code used a minute before it expires")
    ctx.let_time_pass(61)
    reply = ctx.session.call(flow, {param: late})
    ctx.expect_error(reply, ctx.option("expect_error", ()), f"a code used after its {lifetime:g} s lifetime")


@check("refresh_token_expires", options=Lifetime, traits=Traits(moves_clock=True))
def refresh_token_expires(ctx: CheckContext) -> None:
    """Of two fresh grants, the first's refresh token is used a minute before `seconds` have passed and
    must work (one that dies early fails); the second's, used a second after, must get an error (one of
    `expect_error`). Time passes through clock_url, or is waited out up to max_wait; otherwise the
    requirement is not run."""
    flow = ctx.flow
    lifetime = float(ctx.option("seconds"))
    early, late = ctx.tokens(), ctx.tokens()
    ctx.let_time_pass(max(lifetime - 60, 0))
    reply = ctx.session.call(flow, tokens=early)
    if not ctx.outcome(reply).success:
        raise ctx.fail(
            f"{flow.title}: a refresh token used a minute before its {lifetime:g} s lifetime is over was refused "
            f"({ctx.outcome(reply).describe(reply)})"
        )
    ctx.let_time_pass(61)
    reply = ctx.session.call(flow, tokens=late)
    ctx.expect_error(reply, ctx.option("expect_error", ()), f"a refresh token used after its {lifetime:g} s lifetime")


@check("refresh_after_expiry_rejected", options=Refusal, traits=Traits(moves_clock=True))
def refresh_after_expiry_rejected(ctx: CheckContext) -> None:
    """Once the access token's stated lifetime (from the token_source flow) has passed, a refresh with its
    refresh token gets an error, one of `expect_error`. Time passes through clock_url, or is waited
    out up to max_wait; otherwise the requirement is not run."""
    flow = ctx.flow
    source = ctx.session.flow(ctx.session.profile.token_source or "")
    sent_at = ctx.session.now()
    tokens = ctx.tokens()
    value = ctx.session.issued(tokens.reply, source, "expiry")
    if not isinstance(value, int):
        raise PreconditionFailed(f"{source.name} states no expiry")
    lifetime = value / 1000 - sent_at if source.expiry_unit == "epoch_ms" else value
    ctx.let_time_pass(lifetime + 1)
    reply = ctx.session.call(flow, tokens=tokens)
    ctx.expect_error(reply, ctx.option("expect_error", ()), "a refresh after the access token expired")


@dataclass(frozen=True)
class ExpiredProbe(Introspection, Refusal):
    """`expect_error`: the codes the probe flow must answer an expired access token with (empty: it need
    only stop working)."""


@check("access_token_expires", options=ExpiredProbe, traits=Traits(moves_clock=True))
def access_token_expires(ctx: CheckContext) -> None:
    """An access token works until its stated lifetime is over, and not after (the probe flow sees it);
    with `expect_error`, the probe's refusal of the expired token carries one of those codes."""
    session = ctx.session
    probe = ctx.flow
    source = session.flow(session.profile.token_source or "")
    active = ctx.option("active_pointer")

    def accepted(tokens: Any) -> bool:
        reply = session.call(probe, tokens=tokens)
        if not ctx.outcome(reply, probe).success:
            return False
        return active is None or resolve(reply.json(), active) is True

    sent_at = session.now()
    tokens = ctx.tokens()
    raw = session.issued(tokens.reply, source, "expiry")
    value = int(raw) if isinstance(raw, str) and raw.isdigit() else raw
    if isinstance(value, bool) or not isinstance(value, int):
        raise PreconditionFailed(f"{source.name} states no expiry to wait for")
    lifetime = value / 1000 - sent_at if source.expiry_unit == "epoch_ms" else float(value)
    if not accepted(tokens):
        raise PreconditionFailed(f"{probe.name} does not accept a fresh access token")
    ctx.let_time_pass(lifetime + 1)
    if accepted(tokens):
        raise ctx.fail(
            f"{probe.name} still accepts the access token {lifetime:g} s after it was issued, past its expiry"
        )
    codes = ctx.option("expect_error", ())
    if codes:
        reply = session.call(probe, tokens=tokens)
        ctx.expect_error(reply, codes, f"{probe.title} with an access token past its {lifetime:g} s lifetime", probe)
