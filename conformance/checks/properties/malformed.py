"""Bad requests get exactly the documented error: each example breaks one thing of a valid request
(a required parameter missing or empty, a made-up credential, an unknown grant type, the wrong
HTTP method) and the answer must be the error the spec's `situations` name, in the documented
envelope and status; never a success, never a 5xx. A wrong method need only not crash the server."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hypothesis import strategies as st

from conformance.checks.base import CheckContext, Traits, check
from conformance.checks.properties.runner import run_property
from conformance.model.spec import ErrorCode, Flow
from conformance.model.violation import Violation
from conformance.target.session import OMIT

# Which situation a made-up value of a role is, in the spec's `error.situations`.
BAD_ROLE = {
    "client_id": "unknown_client",
    "client_secret": "wrong_secret",
    "code": "bad_code",
    "refresh_token": "bad_refresh_token",
    "access_token": "bad_access_token",
    "password": "wrong_password",
}
VSCHAR = re.compile(r"[\x20-\x7e]*")
# No codec= argument: the alphabet is the same (surrogates are excluded anyway), without the 238 MiB
# UTF-8 table Hypothesis would build on a first run.
GARBAGE = st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=40).map(lambda s: "x" + s)


@dataclass(frozen=True)
class Breakage:
    kind: str  # missing | empty | garbage | grant_type | method
    param: str = ""
    value: str = ""

    def describe(self) -> str:
        if self.kind == "method":
            return f"sent with HTTP {self.value}"
        if self.kind in {"missing", "empty"}:
            return f"{self.param} {self.kind}"
        return f"{self.param}={self.value!r}"


def every_breakage(flow: Flow, documented_methods: set[str]) -> list[Breakage]:
    """One of each kind, so every documented situation is tried whatever the seed."""
    cases = [Breakage(kind, name) for name in flow.required for kind in ("missing", "empty")]
    cases += [Breakage("garbage", n, "xbogus-value") for n in flow.params if _breakable(flow, n)]
    # and one outside VSCHAR (quotes, a backslash, non-ASCII), which servers that crash on them meet at once
    cases += [Breakage("garbage", n, 'x"\\é-bogus') for n in flow.params if _breakable(flow, n)]
    if "grant_type" in flow.values:
        cases.append(Breakage("grant_type", "grant_type", "xunknown_grant"))
    cases += [Breakage("method", value=m) for m in _undocumented(documented_methods)][:1]
    return cases


def _breakable(flow: Flow, name: str) -> bool:
    return flow.operation.params[name].role in BAD_ROLE and name not in flow.values


def _undocumented(documented_methods: set[str]) -> list[str]:
    return [m for m in ("GET", "POST", "PUT", "DELETE") if m not in documented_methods]


def breakages(flow: Flow, documented_methods: set[str]) -> st.SearchStrategy[Breakage]:
    options: list[st.SearchStrategy[Breakage]] = []
    required = list(flow.required)
    if required:
        options.append(st.builds(Breakage, st.sampled_from(("missing", "empty")), st.sampled_from(required)))
    roles = [n for n in flow.params if _breakable(flow, n)]
    if roles:
        options.append(st.builds(Breakage, st.just("garbage"), st.sampled_from(roles), GARBAGE))
    if "grant_type" in flow.values:
        options.append(st.builds(Breakage, st.just("grant_type"), st.just("grant_type"), GARBAGE))
    undocumented = _undocumented(documented_methods)
    if undocumented:
        options.append(st.builds(Breakage, st.just("method"), value=st.sampled_from(undocumented)))
    return st.one_of(options)


def expected_codes(ctx: CheckContext, flow: Flow, breakage: Breakage) -> tuple[ErrorCode, ...]:
    error = ctx.session.profile.error
    if error is None or not error.code:
        return ()
    situations = error.situations
    if breakage.kind in {"missing", "empty"}:
        role = flow.operation.params[breakage.param].role or ""
        extra = situations.get(BAD_ROLE.get(role, ""), ()) if breakage.kind == "empty" else ()
        return tuple(dict.fromkeys((*flow.missing_codes(breakage.param), *extra)))
    if breakage.kind == "garbage":
        role = flow.operation.params[breakage.param].role or ""
        codes = situations.get(BAD_ROLE[role], tuple(error.codes))
        if codes and not VSCHAR.fullmatch(breakage.value) and "invalid_request" in error.codes:
            # Outside the characters such values are made of (RFC 6749 appendix A: VSCHAR), the value is
            # malformed as well as unknown: invalid_request is as right an answer as the situation's code.
            codes = (*codes, "invalid_request")
        return codes
    if breakage.kind == "grant_type":
        return situations.get("unsupported_grant_type", tuple(error.codes))
    return ()  # a wrong method is not in any error table: any refusal will do


@dataclass(frozen=True)
class Malformed:
    """`advice_garbage`: parameters whose made-up value the document does not say is refused (a
    made-up value accepted is advice, a warning; missing or empty stays what the table says)."""

    advice_garbage: tuple[str, ...] = ()


@check("malformed_requests", options=Malformed, traits=Traits(weight=5, hypothesis=True))
def malformed_requests(ctx: CheckContext) -> None:
    """Each documented parameter left out, sent empty or replaced by made-up values (and a fixed value
    such as grant_type replaced, and other HTTP methods) must get an error of the dialect: the codes
    of `on_missing` for a missing or empty parameter, of `error.situations` for a made-up credential
    (an absent situation: any documented code; an empty list: any error). A made-up value of a
    parameter in `advice_garbage`, and a crash on another HTTP method, are advice (a Hypothesis
    property)."""
    flow = ctx.flow
    advice_garbage = set(ctx.option("advice_garbage", ()))

    def refused(breakage: Breakage) -> None:
        what = f"{flow.title} with {breakage.describe()}"
        if breakage.kind == "method":
            # The documents say which method a client uses, not that a server must refuse others (a
            # server may accept GET as well): only a crash is a violation here.
            reply = ctx.session.call(flow, method=breakage.value)
            if reply.status >= 500:  # no document says how an undocumented method is answered: advice
                raise ctx.advise(f"{what}: the server failed with HTTP {reply.status}")
            return
        value = {"missing": OMIT, "empty": ""}.get(breakage.kind, breakage.value)
        overrides = {breakage.param: value}
        if breakage.kind == "garbage":  # every parameter carrying that credential (md5 and sha, say)
            role = flow.operation.params[breakage.param].role
            overrides = {n: value for n in flow.params if flow.operation.params[n].role == role}
        reply = ctx.session.call(flow, overrides)
        if breakage.kind == "garbage" and breakage.param in advice_garbage:
            try:
                ctx.expect_error(reply, expected_codes(ctx, flow, breakage), what)
            except Violation as exc:
                raise ctx.advise(exc.message) from None
            return
        ctx.expect_error(reply, expected_codes(ctx, flow, breakage), what)

    paths = ctx.session.profile.raw.get("paths", {})
    documented = {m.upper() for m in paths.get(flow.operation.path, {})}
    run_property(ctx, breakages(flow, documented), refused, every_breakage(flow, documented))
