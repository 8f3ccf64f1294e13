"""No secret leaves the process: every file a run writes (JUnit XML, allure results and
attachments, certification.json, summary.html, evidence) is grepped for the configured secrets,
the password's MD5/SHA-1, and every code and token the reference servers issued."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml

from conformance.servers import ReferenceServer, reference_config

from .fixtures.report_runs import SuiteRun, SuiteRunner

PASSWORD = "wonderland"
CONFIGURED = {
    "client secret": "secret-1",
    "password": PASSWORD,
    "md5 of the password": hashlib.md5(PASSWORD.encode()).hexdigest(),
    "sha1 of the password": hashlib.sha1(PASSWORD.encode()).hexdigest(),
}
# One fault per profile, so failures (whose messages and evidence carry codes and tokens) are written too.
FAULTS = (
    "yixin:code_reusable",
    "everydo:refresh_reusable",
    "usercenter:destroy_noop",
    "ekuaibao:refresh_no_rotate",
    "generic:code_reusable",
)


def leaks(run: SuiteRun) -> list[str]:
    found = []
    secrets = {**CONFIGURED, **{f"issued {kind} {value[:4]}…": value for value, kind in run.issued.items()}}
    for path in run.files():
        text = path.read_bytes().decode("utf-8", "replace")
        found += [f"{path.relative_to(run.run_dir)}: {what}" for what, value in secrets.items() if value in text]
    return found


def assert_every_kind_written(run: SuiteRun) -> None:
    rel = [p.relative_to(run.run_dir).as_posix() for p in run.files()]
    assert "junit.xml" in rel and "certification.json" in rel and "summary.html" in rel
    assert any(r.startswith("allure-results/") and r.endswith("-result.json") for r in rel)
    assert any(r.startswith("allure-results/") and r.endswith("-attachment.txt") for r in rel)
    assert any(r.startswith("evidence/") and r.endswith(".sh") for r in rel)


def test_embedded_run_writes_no_secret(suite_run: SuiteRunner) -> None:
    args = ["--profile", "everydo,usercenter,yixin,ekuaibao,generic"]
    for fault in FAULTS:
        args += ["--reference-fault", fault]
    run = suite_run(*args)
    assert run.ret == 1
    assert len(run.issued) > 100, "the servers issued codes and tokens to look for"
    assert_every_kind_written(run)
    found = leaks(run)
    assert not found, "\n".join(found)
    output = run.result.stdout.str()
    assert [what for what, value in CONFIGURED.items() if value in output] == []


def test_target_run_masks_the_config_and_writes_no_secret(suite_run: SuiteRunner, tmp_path: Path) -> None:
    with ReferenceServer(["yixin"]) as server:
        server.states["yixin"].set_faults({"code_reusable"})
        config = tmp_path / "target.yaml"
        config.write_text(yaml.safe_dump(reference_config("yixin", server.url("yixin"))), encoding="utf-8")
        run = suite_run("--target", server.url("yixin"), "--target-config", str(config), server=server)
    assert run.ret == 1
    doc = run.certification
    assert doc["target"] == server.url("yixin")
    masked = doc["profiles"][0]["config"]
    assert masked["client_id"] == "app-1" and masked["client_secret"] != "secret-1"
    assert masked["password"] != PASSWORD
    assert "YX-CODE-SINGLE-USE" in doc["gate"]["failures"]
    found = leaks(run)
    assert not found, "\n".join(found)


def test_a_failing_temp_token_response_writes_no_token(suite_run: SuiteRunner) -> None:
    run = suite_run("--profile", "usercenter", "--reference-fault", "usercenter:status_string", "-k", "TEMP-TOKEN")
    assert run.verdicts()["UC-TEMP-TOKEN-RESPONSE"] == "fail"
    found = leaks(run)
    assert not found, "\n".join(found)
