"""Code single-use: the first exchange of a fresh code succeeds, every later one fails, however
it is replayed (RFC 6749 §4.1.2; Yixin line 35; Ekuaibao line 15)."""

from __future__ import annotations

from hypothesis import strategies as st

from conformance.checks.base import CheckContext, Traits, check, role_param
from conformance.checks.options import Refusal
from conformance.checks.properties.runner import run_property

# How a used code is sent again. Each keeps the request otherwise valid, so the only reason to
# refuse it is that the code was used.
REPLAYS = ("same", "after_other_traffic", "after_another_exchange")


@check("code_single_use", options=Refusal, traits=Traits(weight=5, hypothesis=True, lifecycle="code"))
def code_single_use(ctx: CheckContext) -> None:
    """A code exchanged once is refused when exchanged again: right away, after other codes were issued, or
    after another code was exchanged (a Hypothesis property over those sequences). The replay must get
    an error, one of `expect_error` when the dialect has codes."""
    flow = ctx.flow
    param = role_param(flow, "code")
    codes = ctx.option("expect_error", ())

    def replay_fails(replays: list[str]) -> None:
        code = ctx.session.new_code()
        ctx.succeed(ctx.session.call(flow, {param: code}), step="the first exchange of a fresh code")
        for n, how in enumerate(replays, start=2):
            if how == "after_other_traffic":
                ctx.session.new_code()
            elif how == "after_another_exchange":
                ctx.succeed(ctx.session.call(flow), step="exchanging another fresh code")
            again = ctx.session.call(flow, {param: code})
            ctx.expect_error(again, codes, f"exchange #{n} of the same code ({how.replace('_', ' ')})")

    explicit = [[how] for how in REPLAYS]
    run_property(ctx, st.lists(st.sampled_from(REPLAYS), min_size=1, max_size=3), replay_fails, explicit)
