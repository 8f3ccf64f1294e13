"""Why requirements did not run: records grouped by reason, with the key that would run them."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.engine.verdicts import DESELECTED
from conformance.report import reasons


def record(rid: str, verdict: str, reason: str) -> dict[str, Any]:
    return {"id": rid, "verdict": verdict, "reason": reason}


def test_groups_undecided_records_by_reason_largest_first() -> None:
    groups = reasons.group(
        [
            record("A-1", "pass", ""),
            record("A-2", "fail", "set client_id in the target config"),
            record("A-3", "not run", "set client_id in the target config (exchange_code sends client_id)"),
            record(
                "A-4", "not run", "skipped: not run: set client_id in the target config (exchange_code sends client_id)"
            ),
            record("A-5", "not applicable", "the target does not advertise revocation_endpoint (optional)"),
        ]
    )
    assert [(g.count, g.verdict, g.ids, g.hint) for g in groups] == [
        (2, "not run", ("A-3", "A-4"), "client_id"),
        (1, "not applicable", ("A-5",), "endpoints.revocation_endpoint, if the target has one"),
    ]
    assert groups[0].reason == "set client_id in the target config (exchange_code sends client_id)"


def test_reasons_that_differ_only_in_numbers_are_one_group() -> None:
    wait = "s of the target's time must pass, longer than max_wait=10 s (set clock_url, or raise max_wait, to check it)"
    groups = reasons.group([record("E-1", "not run", f"7140 {wait}"), record("E-2", "not run", f"2.7648e+06 {wait}")])
    assert len(groups) == 1
    assert groups[0].reason == f"… {wait}"
    assert groups[0].hint == "clock_url (or a larger max_wait)"


@pytest.mark.parametrize(
    ("reason", "hint"),
    [
        ("set params.powerCode in the target config", "params.powerCode"),
        ("set code_command or login in the target config", "code_command or login"),
        (DESELECTED, "the -k / -m / --deselect selection (or the other --shard runs)"),
        ("never ran: the session stopped before it (-x, --maxfail or an interrupt)", "a run without -x / --maxfail"),
        (
            "exchange_code did not issue an access token (HTTP 401); check the credentials in the config",
            "client_id, client_secret (and username, password)",
        ),
        ("code_url http://x/_test/code answered 500 without a code", "code_url"),  # a config key it names
        ("the check passed without sending a request, so nothing was verified", None),
    ],
)
def test_hint_names_the_key_or_option(reason: str, hint: str | None) -> None:
    assert reasons.hint(reason) == hint


def test_a_differing_trailing_parenthesis_is_one_group() -> None:
    groups = reasons.group(
        [
            record("Y-1", "not run", "set client_id in the target config (exchange_code sends client_id)"),
            record("Y-2", "not run", "set client_id in the target config (refresh sends client_id)"),
            record("Y-3", "not run", "set client_secret in the target config (refresh sends client_secret)"),
        ]
    )
    assert [(g.reason, g.ids, g.hint) for g in groups] == [
        ("set client_id in the target config", ("Y-1", "Y-2"), "client_id"),
        ("set client_secret in the target config (refresh sends client_secret)", ("Y-3",), "client_secret"),
    ]


def test_terminal_lines() -> None:
    groups = reasons.group([record("Y-1", "not run", "set client_secret in the target config")])
    assert reasons.lines(groups) == [
        "   1  not run        set client_secret in the target config",
        "                     to run them: client_secret",
        "                     Y-1",
    ]
