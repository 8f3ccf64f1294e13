"""Every run ends: against targets that hang, crash, lie about content types, send 50 MB or
100,000-deep JSON, loop redirects or present bad certificates, a run ends within a small multiple
of the timeout, with a non-zero exit and one line per problem, never a traceback."""

from __future__ import annotations

import json
import re
import socket
import time
from pathlib import Path
from xml.etree import ElementTree

import pytest
import trustme

from conformance.engine.scheduler import DEFAULT_CONCURRENCY
from conformance.servers.hostile import ANSWER_MODES, MODES, HostileServer
from conformance.target.client import BREAKER_LIMIT

from .fixtures.hostile import serve_tls

# C0 controls but tab and newline, DEL, C1, bidi overrides and isolates, lone surrogates (raw bytes a
# terminal obeys or a UTF-8 writer chokes on); \r counts too: pytest's own output has none.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\udc80-\udcff]")
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


def run_against(pytester: pytest.Pytester, url: str, *extra: str) -> tuple[pytest.RunResult, float]:
    started = time.monotonic()
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-q", "-rfE", f"--target={url}", "--target-config=cfg.yaml", *extra
    )
    return result, time.monotonic() - started


def assert_ends_with_reasons(result: pytest.RunResult, elapsed: float) -> None:
    """Non-zero exit within the bound, a one-line reason per problem, no traceback, and a report;
    nothing the target sent reaches the terminal or a text file raw, and no secret any of them."""
    output = result.stdout.str() + result.stderr.str()
    reports = list(Path.cwd().glob("reports/*/certification.json"))
    assert len(reports) == 1, output
    assert_inert(output, reports[0].parent)
    verdicts = {r["verdict"] for r in json.loads(reports[0].read_text())["requirements"]}
    assert verdicts - {"pass"}, "a hostile target cannot pass every requirement"
    assert result.ret != 0, output
    assert elapsed < BOUND, f"run took {elapsed:.1f} s"
    assert "Traceback" not in output
    problems = [line for line in result.stdout.lines if line.startswith(("FAILED ", "ERROR "))]
    problems += [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert problems, output
    assert all(" - " in line or line.startswith("ERROR:") for line in problems), problems


def assert_inert(output: str, run_dir: Path) -> None:
    """No raw control byte and no configured secret in the terminal or any file of the run."""
    assert not RAW_CONTROL.search(output), f"raw control in the terminal: {RAW_CONTROL.findall(output)[:5]}"
    assert "secret-1" not in output and "wonderland" not in output
    for path in run_dir.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", "surrogateescape")
            assert not RAW_CONTROL.search(text), f"{path.name}: {RAW_CONTROL.findall(text)[:5]}"
            assert "secret-1" not in text and "wonderland" not in text, path.name


@pytest.mark.parametrize("profile", ["yixin", "generic"])
@pytest.mark.parametrize("mode", [m for m in MODES if m not in ANSWER_MODES])
def test_hostile_target(pytester: pytest.Pytester, mode: str, profile: str) -> None:
    with HostileServer(mode, delay=20) as server:
        write_config(pytester, profile, server.url)
        result, elapsed = run_against(pytester, server.url)
    assert_ends_with_reasons(result, elapsed)


@pytest.mark.parametrize("profile", ["yixin", "generic", "rfc6749"])
@pytest.mark.parametrize("mode", ANSWER_MODES)
def test_hostile_answers_are_verdicts_not_tracebacks(pytester: pytest.Pytester, mode: str, profile: str) -> None:
    """A target that answers with a `javascript:` or control-laden Location, raw ANSI/OSC bytes, a
    lone surrogate in its error code or a 64 KB header: every requirement gets a verdict with a
    one-line reason (the answer is the target's doing: never `error` with a suite traceback), even
    with `--showlocals --tb=long`; nothing reaches the terminal or the files raw."""
    with HostileServer(mode) as server:
        write_config(pytester, profile, server.url)
        result, elapsed = run_against(pytester, server.url, "--certify", "--showlocals", "--tb=long", "-rs")
    output = result.stdout.str() + result.stderr.str()
    assert elapsed < BOUND, f"run took {elapsed:.1f} s"
    assert result.ret not in (0, pytest.ExitCode.INTERNAL_ERROR), output
    assert "Traceback" not in output and "INTERNALERROR" not in output, output
    assert "internal error in oauth2-conformance" not in output, output
    (report,) = Path.cwd().glob("reports/*/certification.json")
    records = json.loads(report.read_text(encoding="utf-8"))["requirements"]
    assert {r["verdict"] for r in records} - {"pass"}, "a hostile target cannot pass every requirement"
    assert all(r["reason"] and "\n" not in r["reason"] for r in records if r["verdict"] != "pass")
    if (report.parent / "junit.xml").exists():  # not when the run stopped before any test (unreachable)
        ElementTree.parse(report.parent / "junit.xml")
    for result_file in (report.parent / "allure-results").glob("*.json"):
        json.loads(result_file.read_text(encoding="utf-8"))
    assert_inert(output, report.parent)


@pytest.mark.parametrize("in_flight", [1, DEFAULT_CONCURRENCY])
def test_circuit_breaker_stops_asking_a_dead_target(pytester: pytest.Pytester, in_flight: int) -> None:
    """After BREAKER_LIMIT failures in a row nothing more is sent; requests already in flight when
    the last of them lands (at most in_flight - 1) still arrive, so that many more are allowed."""
    with HostileServer("dies") as server:
        write_config(pytester, "yixin", server.url)
        result, elapsed = run_against(pytester, server.url, f"--concurrency={in_flight}")
        asked = server.requests
    assert_ends_with_reasons(result, elapsed)
    allowed = 1 + BREAKER_LIMIT + in_flight - 1  # the one answer, the failures, the ones in flight
    assert asked <= allowed, f"the target was asked {asked} times (at most {allowed}): it died after the first"
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
