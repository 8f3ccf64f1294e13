"""Checks on what vendor documents say about the tokens they issue: a refresh gives a new access
token, tokens (and codes) are random, a field that names the enterprise or the user stays the same,
a code is single-use across every endpoint that takes it, and a token check answers an unknown token
negatively."""

from __future__ import annotations

from dataclasses import dataclass

from conformance.checks.base import CheckContext, bogus, check, role_param
from conformance.model.errors import PreconditionFailed
from conformance.model.pointer import MISSING, resolve


@check("refresh_new_access_token")
def refresh_new_access_token(ctx: CheckContext) -> None:
    """A refresh answers an access token other than the one the refreshed grant had."""
    flow = ctx.flow
    tokens = ctx.tokens()
    reply = ctx.session.call(flow, tokens=tokens)
    ctx.succeed(reply, step="a refresh with fresh tokens")
    renewed = ctx.session.issued(reply, flow, "access_token")
    if renewed == tokens.access_token:
        raise ctx.fail(f"{flow.title}: the refresh answered the access token it was meant to replace")


@check("tokens_distinct")
def tokens_distinct(ctx: CheckContext) -> None:
    """Two grants give two different access tokens and two different refresh tokens; two authorizations
    of a redirect flow, two different codes."""
    flow = ctx.flow
    first, second = ctx.session.call(flow), ctx.session.call(flow)
    ctx.succeed(first, step="a first grant")
    ctx.succeed(second, step="a second grant")
    if flow.redirect and not flow.redirect.get("fragment"):
        name = flow.redirect.get("code_param", "code")
        code = ctx.session.redirect_value(first, name)
        if code is not None and code == ctx.session.redirect_value(second, name):
            raise ctx.fail(f"{flow.title}: two authorizations redirected with the same {name}; each must get its own")
    for role in ("access_token", "refresh_token"):
        value = ctx.session.issued(first, flow, role)
        if value is not None and value == ctx.session.issued(second, flow, role):
            raise ctx.fail(f"{flow.title}: two grants answered the same {role}; it must be random")


@dataclass(frozen=True)
class Stable:
    """`pointer`: the field that must not change; `flows`: other flows whose answers carry it."""

    pointer: str = ""
    flows: tuple[str, ...] = ()


@check("field_stable", options=Stable)
def field_stable(ctx: CheckContext) -> None:
    """The field at `pointer` has one value across grants of the flow and answers of `flows`."""
    pointer = ctx.option("pointer")
    seen: dict[str, object] = {}
    for flow in (ctx.flow, ctx.flow, *(ctx.session.flow(name) for name in ctx.option("flows", ()))):
        reply = ctx.session.call(flow)
        ctx.succeed(reply, flow, step=flow.name)
        value = resolve(reply.json(), pointer)
        if value is MISSING:
            raise ctx.fail(f"{flow.title}: the answer has no {pointer}")
        seen.setdefault(repr(value), flow.name)
        if len(seen) > 1:
            shown = ", ".join(f"{value} ({where})" for value, where in seen.items())
            raise ctx.fail(f"{pointer} must hold the same value in every answer, got {shown}")


@dataclass(frozen=True)
class OtherFlow:
    """`other`: a second flow that takes the same kind of code."""

    other: str = ""


@check("code_single_use_across", options=OtherFlow)
def code_single_use_across(ctx: CheckContext) -> None:
    """A code used at one endpoint is refused at the other, in both orders."""
    session = ctx.session
    pair = (ctx.flow, session.flow(ctx.option("other")))
    for first, then in (pair, pair[::-1]):
        code = session.new_code()
        ctx.succeed(
            session.call(first, {role_param(first, "code"): code}), first, step=f"{first.name} with a fresh code"
        )
        again = session.call(then, {role_param(then, "code"): code})
        ctx.expect_error(again, (), f"{then.title} with a code already used at {first.operation.path}", then)


@check("token_check_negative")
def token_check_negative(ctx: CheckContext) -> None:
    """A token check answers an unknown token either with the envelope's failure or with a success
    whose verdict (the flow's `verdict` pointer) differs from the one a live token gets; both read
    the document's "校验结果"."""
    flow = ctx.flow
    if flow.verdict is None:
        raise PreconditionFailed(f"{flow.name} names no `verdict`: where its answer says what it found")
    ctx.live_verdict(flow)
    unknown = ctx.session.call(flow, {role_param(flow, "access_token"): bogus("token")})
    ctx.expect_error(unknown, (), f"{flow.title} with an unknown token")


@dataclass(frozen=True)
class FieldTypes:
    """`types`: JSON pointer -> JSON type (string, integer, number, boolean) of an example's fields."""

    types: tuple[str, ...] = ()  # "pointer=type" pairs


JSON_TYPES = {"string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,)}


@check("example_types", options=FieldTypes)
def example_types(ctx: CheckContext) -> None:
    """Fields that only an example shows, when present, have the example's types."""
    flow = ctx.flow
    reply = ctx.session.call(flow)
    ctx.succeed(reply)
    body = reply.json()
    wrong = []
    for pair in ctx.option("types", ()):
        pointer, _, kind = pair.partition("=")
        value = resolve(body, pointer)
        if value is MISSING:
            continue
        boolean = isinstance(value, bool)
        if not isinstance(value, JSON_TYPES[kind]) or (boolean and kind != "boolean"):
            wrong.append(f"{pointer} is {type(value).__name__} {value!r}, the example shows a {kind}")
    if wrong:
        raise ctx.fail(f"{flow.title}: {'; '.join(wrong)}")
