"""Every run ends: against targets that hang, crash, lie about content types, send 50 MB or
100,000-deep JSON, loop redirects or present bad certificates, a run ends within a small multiple
of the timeout, with a non-zero exit and one line per problem, never a traceback."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
import trustme

from conformance.servers.hostile import MODES, HostileServer

from .fixtures.hostile import serve_tls

TIMEOUT = 1.0
BOUND = 8 * TIMEOUT  # "a small multiple of the configured timeout"


def write_config(pytester: pytest.Pytester, profile: str, url: str, **extra: object) -> None:
    lines = [
        f"profile: {profile}",
        "client_id: app-1",
        "client_secret: secret-1",
        "username: alice",
        "password: wonderland",
        "redirect_uri: http://localhost/cb",
        f"code_url: {url}/_test/code",
        f"timeout: {TIMEOUT}",
        f"connect_timeout: {TIMEOUT}",
        *(f"{key}: {value}" for key, value in extra.items()),
    ]
    pytester.makefile(".yaml", cfg="\n".join(lines) + "\n")


def run_against(pytester: pytest.Pytester, url: str) -> tuple[pytest.RunResult, float]:
    started = time.monotonic()
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-q", "-rfE", f"--target={url}", "--target-config=cfg.yaml"
    )
    return result, time.monotonic() - started


def assert_ends_with_reasons(result: pytest.RunResult, elapsed: float) -> None:
    """Non-zero exit within the bound, a one-line reason per problem, no traceback, and a report."""
    output = result.stdout.str() + result.stderr.str()
    reports = list(Path.cwd().glob("reports/*/certification.json"))
    assert len(reports) == 1, output
    verdicts = {r["verdict"] for r in json.loads(reports[0].read_text())["requirements"]}
    assert verdicts - {"pass"}, "a hostile target cannot pass every requirement"
    assert result.ret != 0, output
    assert elapsed < BOUND, f"run took {elapsed:.1f} s"
    assert "Traceback" not in output
    problems = [line for line in result.stdout.lines if line.startswith(("FAILED ", "ERROR "))]
    problems += [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert problems, output
    assert all(" - " in line or line.startswith("ERROR:") for line in problems), problems


@pytest.mark.parametrize("profile", ["yixin", "generic"])
@pytest.mark.parametrize("mode", MODES)
def test_hostile_target(pytester: pytest.Pytester, mode: str, profile: str) -> None:
    with HostileServer(mode, delay=20) as server:
        write_config(pytester, profile, server.url)
        result, elapsed = run_against(pytester, server.url)
    assert_ends_with_reasons(result, elapsed)


def test_circuit_breaker_stops_asking_a_dead_target(pytester: pytest.Pytester) -> None:
    with HostileServer("dies") as server:
        write_config(pytester, "yixin", server.url)
        result, elapsed = run_against(pytester, server.url)
        asked = server.requests
    assert_ends_with_reasons(result, elapsed)
    assert asked <= 5, f"the target was asked {asked} times after it died"
    stopped = [line for line in result.stdout.lines if "the run stopped asking" in line]
    assert len(stopped) >= 10, result.stdout.str()


def test_refused_port_gives_up_in_seconds(pytester: pytest.Pytester) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    write_config(pytester, "yixin", url)
    result, elapsed = run_against(pytester, url)
    assert_ends_with_reasons(result, elapsed)
    assert "refused" in result.stderr.str()


def test_unresolvable_name(pytester: pytest.Pytester) -> None:
    url = "http://conformance-no-such-host.invalid"
    write_config(pytester, "yixin", url)
    result, elapsed = run_against(pytester, url)
    assert_ends_with_reasons(result, elapsed)
    assert "cannot resolve host" in result.stderr.str()


def test_private_ca_is_trusted_through_ca_bundle(pytester: pytest.Pytester, tls_server, ca_bundle: Path) -> None:
    url = tls_server.url("yixin")
    write_config(pytester, "yixin", url, ca_bundle=ca_bundle, clock_url=f"{url}/_test/clock")
    result, _ = run_against(pytester, url)
    assert result.ret == 0, result.stdout.str()


def test_untrusted_certificate_is_refused(pytester: pytest.Pytester, tls_server) -> None:
    url = tls_server.url("yixin")
    write_config(pytester, "yixin", url)
    result, elapsed = run_against(pytester, url)
    assert_ends_with_reasons(result, elapsed)
    assert "TLS handshake" in result.stderr.str() and "ca_bundle" in result.stderr.str()


def test_insecure_works_but_warns(pytester: pytest.Pytester, tls_server) -> None:
    url = tls_server.url("yixin")
    write_config(pytester, "yixin", url, insecure="true")
    result, _ = run_against(pytester, url)
    assert result.ret == 0
    assert "TLS certificate verification is OFF" in result.stdout.str()


@pytest.mark.parametrize(
    ("identities", "expired", "reason"),
    [
        (("127.0.0.1",), True, "expired"),
        (("conformance.example",), False, "mismatch"),
    ],
)
def test_bad_certificates(
    pytester: pytest.Pytester,
    ca: trustme.CA,
    ca_bundle: Path,
    tmp_path: Path,
    identities: tuple[str, ...],
    expired: bool,
    reason: str,
) -> None:
    with serve_tls(ca, tmp_path, *identities, expired=expired) as server:
        url = server.url("yixin")
        write_config(pytester, "yixin", url, ca_bundle=ca_bundle)
        result, elapsed = run_against(pytester, url)
    assert_ends_with_reasons(result, elapsed)
    assert reason in result.stderr.str().lower()
