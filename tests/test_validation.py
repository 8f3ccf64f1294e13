"""Response validation remembers answers it has validated: the same problems, without openapi-core.

A run sends hundreds of requests that get the same error body back (every refused code of a
property); validating each again costs about a millisecond of CPU. What validation reads (the
operation, the status, the body, Content-Type and the headers the spec declares) is the key, so an
answer differing in any of those is validated afresh.
"""

from __future__ import annotations

import httpx
import pytest

from conformance.model.exchange import Exchange
from conformance.model.spec import Operation, load_profiles
from conformance.target import validation
from conformance.target.client import Reply
from conformance.target.validation import ResponseValidator

PROFILES = load_profiles()
RFC = PROFILES["rfc6749"]


def operation(flow: str) -> Operation:
    return RFC.flows[flow].operation


def reply(status: int, body: bytes, **headers: str) -> Reply:
    head = httpx.Headers({"content-type": "application/json", **{k.replace("_", "-"): v for k, v in headers.items()}})
    return Reply(status, head, body, False, Exchange(1, "POST", "https://validate.invalid/x", {}, ""))


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> tuple[ResponseValidator, list[int]]:
    """The rfc6749 validator, counting the answers it really validates."""
    validator = ResponseValidator(RFC, "https://validate.invalid")
    calls: list[int] = []
    real = validator._problems

    def counting(answer: Reply, op: Operation) -> list[str]:
        calls.append(answer.status)
        return real(answer, op)

    monkeypatch.setattr(validator, "_problems", counting)
    return validator, calls


def test_the_same_answer_is_validated_once(counted: tuple[ResponseValidator, list[int]]) -> None:
    validator, calls = counted
    token = operation("exchange_code")
    error = reply(400, b'{"error": "invalid_grant"}')
    first = validator.problems(error, token)
    assert validator.problems(reply(400, b'{"error": "invalid_grant"}'), token) == first
    assert len(calls) == 1


def test_a_different_body_status_or_content_type_is_validated_again(
    counted: tuple[ResponseValidator, list[int]],
) -> None:
    validator, calls = counted
    token = operation("exchange_code")
    validator.problems(reply(400, b'{"error": "invalid_grant"}'), token)
    bad = validator.problems(reply(400, b'{"error": 7}'), token)
    validator.problems(reply(401, b'{"error": "invalid_grant"}'), token)
    validator.problems(reply(400, b'{"error": "invalid_grant"}', content_type="text/plain"), token)
    assert len(calls) == 4
    assert bad, "an error code that is no string departs from the spec"


def test_a_header_the_spec_declares_is_part_of_the_answer(counted: tuple[ResponseValidator, list[int]]) -> None:
    validator, calls = counted
    authorize = operation("authorize")
    validator.problems(reply(302, b"", location="https://client.example/cb?code=1"), authorize)
    validator.problems(reply(302, b"", location="https://client.example/cb?code=2"), authorize)
    validator.problems(reply(302, b"", location="https://client.example/cb?code=2", date="then"), authorize)
    assert len(calls) == 2, "Location is declared, so it counts; Date is not, so it does not"


def test_large_bodies_are_not_remembered(counted: tuple[ResponseValidator, list[int]]) -> None:
    validator, calls = counted
    token = operation("exchange_code")
    big = b'{"error": "invalid_grant", "error_description": "' + b"x" * validation.CACHED_BODY_BYTES + b'"}'
    validator.problems(reply(400, big), token)
    validator.problems(reply(400, big), token)
    assert len(calls) == 2


def test_the_memory_is_bounded(counted: tuple[ResponseValidator, list[int]], monkeypatch: pytest.MonkeyPatch) -> None:
    validator, calls = counted
    monkeypatch.setattr(validation, "CACHED_ANSWERS", 2)
    token = operation("exchange_code")
    for n in (1, 2, 3, 1):
        validator.problems(reply(400, b'{"error": "e%d"}' % n), token)
    assert len(calls) == 4, "the oldest answer was forgotten, so it is validated again"
    assert len(validator._known) == 2
