"""Custom expiry (Ekuaibao lines 56-61, 135-142): for any positive number of days the answer is
either an error or expireTime == min(now + days, the feature's expiry); empty is always an error.
0, negative days and the string "null" are unsaid by the document: only a crash is wrong for them
(their advice is EK-CUSTOM-EXPIRY-NONPOSITIVE and EK-CUSTOM-EXPIRY-NULL-STRING)."""

from __future__ import annotations

from hypothesis import strategies as st

from conformance.checks.base import CheckContext, Traits, check, role_param
from conformance.checks.expiry import TOLERANCE_S, expiry_value
from conformance.checks.properties.runner import run_property
from conformance.model.errors import PreconditionFailed

DAY_MS = 86_400_000
TOL_MS = TOLERANCE_S * 1000
EMPTY = ("",)
# Not numbers at all: the document says nothing about them beyond "days", so only a crash is wrong.
NOT_NUMBERS = ("null", "abc", "1.5", " 7", "0x10", "1e3", "七", "-")

DAYS = st.one_of(
    st.integers(-3, 3),
    st.integers(1, 4000),
    st.integers(10**5, 10**9),
    st.sampled_from(EMPTY + NOT_NUMBERS),
)


def _feature_expiry_ms(ctx: CheckContext, param: str) -> float | None:
    """The feature's own expiry: from the config, or observed as the common answer to two huge
    requests (a clamped expiry cannot depend on how far beyond it the request reaches)."""
    configured = ctx.session.config.feature_expiry_ms
    if configured is not None:
        return float(configured)
    answers = []
    for days in (100_000, 1_000_000):
        reply = ctx.session.call(ctx.flow, {param: str(days)})
        if not ctx.outcome(reply).success:
            return None
        answers.append(expiry_value(ctx, reply))
    if abs(answers[0] - answers[1]) > TOL_MS:
        raise ctx.fail(
            f"{param}=100000 and {param}=1000000 expire at {answers[0]} and {answers[1]}: "
            "the custom expiry is not clamped to the feature's expiry"
        )
    return float(answers[1])


@check("expiry_clamped", traits=Traits(weight=5))
def expiry_clamped(ctx: CheckContext) -> None:
    """For any positive number of days, an answer is an error or states an epoch-millisecond expireTime of
    min(now + days, the feature's own expiry) (feature_expiry_ms, else discovered); an empty value
    must be refused; for values that are no number only a crash is wrong (a Hypothesis property)."""
    flow = ctx.flow
    session = ctx.session
    param = role_param(flow, "expire_days")
    if flow.expiry_unit != "epoch_ms":
        raise PreconditionFailed(f"{flow.name} states no epoch-millisecond expiry")
    feature = _feature_expiry_ms(ctx, param)
    observed_clamp: list[int] = []

    def answer_is_clamped(days: int | str) -> None:
        before = session.now() * 1000
        reply = session.call(flow, {param: str(days)})
        after = session.now() * 1000
        outcome = ctx.outcome(reply)
        what = f"{flow.title} with {param}={str(days)!r}"
        if reply.status >= 500:
            raise ctx.fail(f"{what}: the server failed with HTTP {reply.status}")
        if isinstance(days, str):
            if days in EMPTY and outcome.success:
                raise ctx.fail(f"{what}: an empty {param} must be refused, it was accepted")
            return
        if not outcome.success or days <= 0:
            return  # refusing a number of days the feature cannot grant is allowed; days <= 0 is unsaid
        got = expiry_value(ctx, reply)
        low, high = before + days * DAY_MS - TOL_MS, after + days * DAY_MS + TOL_MS
        if feature is not None:
            low, high = min(low, feature - TOL_MS), min(high, feature + TOL_MS)
            if not low <= got <= high:
                raise ctx.fail(
                    f"{what}: expireTime {got} is not min(now + {days} days, feature expiry {feature:.0f}) "
                    f"(expected {low + TOL_MS:.0f}..{high - TOL_MS:.0f})"
                )
            return
        if got > high:
            raise ctx.fail(f"{what}: expireTime {got} is later than now + {days} days")
        if got < low:  # clamped: every clamped answer must be the same feature expiry
            observed_clamp.append(got)
            if max(observed_clamp) - min(observed_clamp) > TOL_MS:
                raise ctx.fail(f"{what}: clamped expiries differ ({min(observed_clamp)} vs {max(observed_clamp)})")

    explicit: list[int | str] = [*EMPTY, *NOT_NUMBERS[:2], -1, 0, 1, 30, 400, 4000, 10**6]
    run_property(ctx, DAYS, answer_is_clamped, explicit)
