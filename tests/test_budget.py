"""The request budget and rate hold for the whole run, properties included, and the run says how
many requests it made."""

from __future__ import annotations

import time

import pytest

from conformance.servers import ReferenceServer


def config(pytester: pytest.Pytester, url: str, **extra: object) -> None:
    lines = [
        "profile: yixin",
        "client_id: app-1",
        "client_secret: secret-1",
        f"code_url: {url}/_test/code",
        *(f"{k}: {v}" for k, v in extra.items()),
    ]
    pytester.makefile(".yaml", cfg="\n".join(lines) + "\n")


def test_max_requests_stops_the_run_at_the_budget(pytester: pytest.Pytester, reference: ReferenceServer) -> None:
    url = reference.url("yixin")
    config(pytester, url, max_requests=30)
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider", f"--target={url}", "--target-config=cfg.yaml")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*request budget exhausted: max_requests=30*", "*; 30 requests to the target*"])


def test_rate_limits_requests_per_second(pytester: pytest.Pytester, reference: ReferenceServer) -> None:
    url = reference.url("yixin")
    config(pytester, url, rate=100)
    started = time.monotonic()
    result = pytester.runpytest_inprocess(
        "-q", "-p", "no:cacheprovider", f"--target={url}", "--target-config=cfg.yaml", "-k", "REQUIRED"
    )
    elapsed = time.monotonic() - started
    assert result.ret == 0
    made = int(next(line for line in result.stdout.lines if "requests to the target" in line).split("; ")[1].split()[0])
    assert made >= 8
    assert elapsed >= (made - 1) / 100
