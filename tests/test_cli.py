"""The `oauth2-conformance` command: profiles, serve (a mock server for client developers), errors."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx
import pytest

from conformance.tools.cli import main

COMMAND = [sys.executable, "-m", "conformance"]


def test_profiles_lists_requirement_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^yixin\s+002_557cecf5f4c3ec08.txt\s+\d+\s+\d+\s+\d+\s+\d+$", out, re.MULTILINE)
    assert "rfc6749" in out


def test_serve_runs_a_reference_server_until_stopped() -> None:
    process = subprocess.Popen(
        [*COMMAND, "serve", "--profile", "yixin", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+/yixin)", line)
        assert url, line
        code = httpx.get(url.group(1) + "/_test/code", timeout=5).text
        reply = httpx.post(
            url.group(1) + "/oauth/token",
            data={"client_id": "app-1", "client_secret": "secret-1", "grant_type": "authorization_code", "code": code},
            timeout=5,
        )
        assert reply.status_code == 200 and "access_token" in reply.json()
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def test_serve_unknown_profile_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--profile", "nosuch"]) == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["oauth2-conformance: unknown profile 'nosuch'; known profiles: " + err[0].split(": ", 2)[2]]


def test_serve_with_an_unknown_fault_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--profile", "yixin", "--port", "0", "--fault", "yixin:nosuch"]) == 4
    assert "yixin has no faults ['nosuch']; known: [" in capsys.readouterr().err
