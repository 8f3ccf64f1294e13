"""Custom expiry (Ekuaibao lines 56-61, 135-142): for any positive number of days the answer is
expireTime == min(now + days, the feature's expiry), never an error (the document says a day count
beyond the feature's expiry is cut to it); empty is always an error.
0, negative days and the string "null" are unsaid by the document: only a crash is wrong for them
(their advice is EK-CUSTOM-EXPIRY-NONPOSITIVE and EK-CUSTOM-EXPIRY-NULL-STRING)."""

from __future__ import annotations

from hypothesis import strategies as st

from conformance.checks.base import CheckContext, Traits, check, role_param
from conformance.checks.expiry import expiry_value, feature_expiry_ms, tolerance
from conformance.checks.properties.runner import run_property
from conformance.model.errors import PreconditionFailed

DAY_MS = 86_400_000
EMPTY = ("",)
# Not numbers at all: the document says nothing about them beyond "days", so only a crash is wrong.
NOT_NUMBERS = ("null", "abc", "1.5", " 7", "0x10", "1e3", "七", "-")

DAYS = st.one_of(
    st.integers(-3, 3),
    st.integers(1, 4000),
    st.integers(10**5, 10**9),
    st.sampled_from(EMPTY + NOT_NUMBERS),
)


@check("expiry_clamped", traits=Traits(weight=5, hypothesis=True))
def expiry_clamped(ctx: CheckContext) -> None:
    """For any positive number of days, the answer is a success stating an epoch-millisecond expireTime
    of min(now + days, the feature's own expiry) (feature_expiry_ms, else discovered), within the
    tolerance of that lifetime (the spec's expiry_tolerance, else 2 %, 5 s to 1 h); a refusal is no
    clamp and fails; an empty value must be refused; for 0, negative days and values that are no
    number only a crash is wrong (a Hypothesis property)."""
    flow = ctx.flow
    session = ctx.session
    param = role_param(flow, "expire_days")
    if flow.expiry_unit != "epoch_ms":
        raise PreconditionFailed(f"{flow.name} states no epoch-millisecond expiry")
    feature = feature_expiry_ms(ctx, flow)
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
        if days <= 0:
            return  # 0 and negative days are unsaid (their advice is EK-CUSTOM-EXPIRY-NONPOSITIVE)
        if not outcome.success:  # the document says a day count beyond the feature's expiry is cut to it
            raise ctx.fail(
                f"{what}: refused ({outcome.describe(reply)}); the expiry must be min(now + {days} days, "
                "the feature's expiry)"
            )
        got = expiry_value(ctx, reply)
        asked = days * 86400.0
        lifetime = asked if feature is None else min(asked, feature / 1000 - before / 1000)
        tol_ms = tolerance(ctx, lifetime) * 1000
        low, high = before + days * DAY_MS - tol_ms, after + days * DAY_MS + tol_ms
        if feature is not None:
            low, high = min(low, feature - tol_ms), min(high, feature + tol_ms)
            if not low <= got <= high:
                raise ctx.fail(
                    f"{what}: expireTime {got} is not min(now + {days} days, feature expiry {feature:.0f}) "
                    f"(expected {low + tol_ms:.0f}..{high - tol_ms:.0f})"
                )
            return
        if got > high:
            raise ctx.fail(f"{what}: expireTime {got} is later than now + {days} days")
        if got < low:  # clamped: every clamped answer must be the same feature expiry
            observed_clamp.append(got)
            spread_ms = tolerance(ctx, got / 1000 - before / 1000) * 1000
            if max(observed_clamp) - min(observed_clamp) > spread_ms:
                raise ctx.fail(f"{what}: clamped expiries differ ({min(observed_clamp)} vs {max(observed_clamp)})")

    explicit: list[int | str] = [*EMPTY, *NOT_NUMBERS[:2], -1, 0, 1, 30, 400, 4000, 10**6]
    run_property(ctx, DAYS, answer_is_clamped, explicit)
