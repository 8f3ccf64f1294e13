"""The pytest plugin end to end: a run against the embedded servers, a mutant's failure message,
and one clear line (usage error, exit 4, no traceback) for every kind of bad input."""

from __future__ import annotations

import gc
import socket
import sys
from pathlib import Path

import pytest
import yaml

from conformance.model.spec import load_profiles
from conformance.pytest_plugin.heap import FrozenHeap
from conformance.servers import reference_config

USAGE_ERROR = 4


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", *args, timeout=120)


def assert_one_line_usage_error(result: pytest.RunResult, *fragments: str) -> None:
    assert result.ret == USAGE_ERROR, result.stdout.str() + result.stderr.str()
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1, result.stderr.str()
    for fragment in fragments:
        assert fragment in errors[0]
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_embedded_run_passes_every_requirement(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--profile=yixin")
    count = len(load_profiles()["yixin"].requirements)
    result.assert_outcomes(passed=count)
    result.stdout.fnmatch_lines([f"*{count} pass; * requests to the target*"])


def test_conformance_run_ignores_the_folder_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_unrelated="def test_x():\n    assert False\n")
    result = run(pytester, "--profile=yixin")
    assert result.ret == 0


def test_plugin_stays_out_of_ordinary_runs(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_x():\n    assert True\n")
    run(pytester).assert_outcomes(passed=1)


def test_mutant_failure_names_requirement_line_and_exchanges(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--profile=yixin", "--reference-fault=yixin:code_reusable", "-k", "YX-CODE-SINGLE-USE")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "*YX-CODE-SINGLE-USE (MUST, 002_557cecf5f4c3ec08.txt:35) violated*",
            "*exchange #2 of the same code*accepted*",
            "*exchanges (secrets masked)*",
            "*POST http://127.0.0.1:*/yixin/oauth/token*",
        ]
    )
    output = result.stdout.str()
    assert "secret-1" not in output and "client_secret=‹secret#1›" in output


def test_unknown_profile(pytester: pytest.Pytester) -> None:
    assert_one_line_usage_error(run(pytester, "--profile=nosuch"), "unknown profile 'nosuch'", "known profiles")


def test_missing_config_file(pytester: pytest.Pytester) -> None:
    assert_one_line_usage_error(run(pytester, "--target-config=nope.yaml"), "nope.yaml does not exist")


def test_malformed_config(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", cfg="profile: yixin\nclient_id: [unclosed\n")
    assert_one_line_usage_error(run(pytester, "--target-config=cfg.yaml"), "not valid YAML", "line")


def test_unknown_config_key(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", cfg="profile: yixin\nclient_secrte: x\n")
    assert_one_line_usage_error(run(pytester, "--target-config=cfg.yaml"), "unknown key(s) client_secrte")


def test_unset_environment_variable(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIXIN_SECRET_FOR_TEST", raising=False)
    pytester.makefile(".yaml", cfg="profile: yixin\nclient_secret: ${YIXIN_SECRET_FOR_TEST}\n")
    assert_one_line_usage_error(run(pytester, "--target-config=cfg.yaml"), "YIXIN_SECRET_FOR_TEST is not set")


def test_target_without_profile_that_cannot_be_reached(pytester: pytest.Pytester) -> None:
    result = run(pytester, f"--target=http://127.0.0.1:{_free_port()}")
    assert_one_line_usage_error(result, "target unreachable", "refused")


def test_several_profiles_against_one_target(pytester: pytest.Pytester) -> None:
    assert_one_line_usage_error(run(pytester, "--target=http://127.0.0.1:9", "--profile=yixin,generic"), "one profile")


def _credentials(pytester: pytest.Pytester, profile: str, url: str, **extra: str) -> None:
    """The reference server's config, minus its profile: the run must find the profile itself."""
    raw = {k: v for k, v in reference_config(profile, url).items() if k not in {"profile", "target"}}
    pytester.makefile(".yaml", cfg=yaml.safe_dump({**raw, **extra}))


def test_target_alone_detects_the_profile_and_says_why(pytester: pytest.Pytester, reference) -> None:
    url = reference.url("generic")
    _credentials(pytester, "generic", url)
    result = run(pytester, f"--target={url}", "--target-config=cfg.yaml")
    count = len(load_profiles()["generic"].requirements)
    result.assert_outcomes(passed=count)
    result.stdout.fnmatch_lines(
        ["*no --profile given: chose profile generic (6 of 6 operations answer, 1.00) at *; runners-up: *--profile=*"]
    )


def test_the_config_gives_the_target_and_the_profile_is_detected(pytester: pytest.Pytester, reference) -> None:
    url = reference.url("yixin")
    _credentials(pytester, "yixin", url, target=url)
    result = run(pytester, "--target-config=cfg.yaml", "-k", "SINGLE-USE")
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["*chose profile yixin (1 of 1 operations answer*"])


def test_a_target_no_profile_matches_is_one_line(pytester: pytest.Pytester, reference) -> None:
    root = reference.url("yixin").rsplit("/", 1)[0]  # the servers live under /PROFILE: the root has none
    result = run(pytester, f"--target={root}")
    assert_one_line_usage_error(result, "no profile's documented operations answer", "yixin", "--profile=NAME")


def test_target_that_is_not_a_url(pytester: pytest.Pytester) -> None:
    assert_one_line_usage_error(run(pytester, "--target=ftp:/x", "--profile=yixin"), "not an http(s) URL")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_refused_target(pytester: pytest.Pytester) -> None:
    result = run(pytester, f"--target=http://127.0.0.1:{_free_port()}", "--profile=yixin")
    assert_one_line_usage_error(result, "target unreachable", "refused")


def test_unresolvable_target(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--target=http://no-such-host.invalid", "--profile=yixin")
    assert_one_line_usage_error(result, "target unreachable", "no-such-host.invalid")


def test_silent_target_times_out(pytester: pytest.Pytester, tmp_path: Path) -> None:
    with socket.socket() as listener:  # accepts connections (backlog) and never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        pytester.makefile(".yaml", cfg="profile: yixin\ntimeout: 0.5\n")
        result = run(pytester, f"--target=http://127.0.0.1:{port}", "--target-config=cfg.yaml")
    assert_one_line_usage_error(result, "did not answer", "within 0.5 s")


def _yixin_config(pytester: pytest.Pytester, **extra: str) -> None:
    lines = ["profile: yixin", "client_id: app-1", "client_secret: secret-1", *(f"{k}: {v}" for k, v in extra.items())]
    pytester.makefile(".yaml", cfg="\n".join(lines) + "\n")


def test_code_command_gives_one_code_per_run(pytester: pytest.Pytester, reference) -> None:
    url = reference.url("yixin")
    fetch = f"import urllib.request; print(urllib.request.urlopen('{url}/_test/code').read().decode())"
    _yixin_config(pytester, code_command=f'"{sys.executable} -c \\"{fetch}\\""')
    result = run(pytester, f"--target={url}", "--target-config=cfg.yaml", "-k", "CODE-SINGLE-USE or BAD-CODE")
    result.assert_outcomes(passed=3)  # YX-CODE-SINGLE-USE, its race variant, YX-BAD-CODE


def test_without_a_code_source_the_cases_say_which_key_to_set(pytester: pytest.Pytester, reference) -> None:
    _yixin_config(pytester)
    result = run(pytester, f"--target={reference.url('yixin')}", "--target-config=cfg.yaml", "-rs", "-k", "SINGLE-USE")
    result.stdout.fnmatch_lines(["*not run: no way to get a code for this profile: set code_command*"])


@pytest.mark.parametrize(
    ("flag", "fragment"),
    [
        ("--reference-fault=yixin:no_such_fault", "yixin has no fault 'no_such_fault'"),
        ("--reference-fault=nosuch", "expected PROFILE:FAULT"),
    ],
)
def test_a_bad_fault_is_refused_before_anything_runs(pytester: pytest.Pytester, flag: str, fragment: str) -> None:
    result = run(pytester, "--profile=yixin", flag)
    assert_one_line_usage_error(result, fragment)
    assert "passed" not in result.stdout.str()


def test_the_heap_is_frozen_for_the_session_and_handed_back_after() -> None:
    """FrozenHeap: what start-up made is kept out of each collection while requirements are decided,
    given back at unconfigure; a heap frozen by the process's owner is left as it is."""
    assert gc.get_freeze_count() == 0
    heap = FrozenHeap()
    heap.pytest_sessionstart()
    try:
        assert gc.get_freeze_count() > 0 and heap.froze
    finally:
        heap.pytest_unconfigure()
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        other = FrozenHeap()
        other.pytest_sessionstart()
        other.pytest_unconfigure()
        assert not other.froze and gc.get_freeze_count() > 0  # still the owner's (objects freed leave it)
    finally:
        gc.unfreeze()
