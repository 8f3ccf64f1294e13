"""Many targets in one run: a folder of target configs (or `--target-config` repeated), a report per
target, an index, and one target's secrets never in another's files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.engine import fleet
from conformance.model.errors import ConfigError
from conformance.servers import ReferenceServer, reference_config
from conformance.servers.base import Client

ALPHA_SECRET = "alpha-only-secret-Q7v2"  # alpha's client secret: never in any file, least of all beta's


@dataclass
class Fleet:
    alpha: ReferenceServer  # yixin, with its own client secret
    beta: ReferenceServer  # ekuaibao
    configs: Path

    def issued(self, server: ReferenceServer) -> set[str]:
        return {value for state in server.states.values() for value in state.grants}


@pytest.fixture
def two_targets(pytester: pytest.Pytester) -> Iterator[Fleet]:
    with ReferenceServer(["yixin"]) as alpha, ReferenceServer(["ekuaibao"]) as beta:
        alpha.states["yixin"].client = Client(client_secret=ALPHA_SECRET)
        configs = pytester.path / "configs"
        configs.mkdir()
        alpha_config = {**reference_config("yixin", alpha.url("yixin")), "client_secret": ALPHA_SECRET}
        (configs / "alpha.yaml").write_text(yaml.safe_dump(alpha_config), encoding="utf-8")
        beta_config = reference_config("ekuaibao", beta.url("ekuaibao"))
        (configs / "beta.yaml").write_text(yaml.safe_dump(beta_config), encoding="utf-8")
        (configs / "notes.txt").write_text("not a config", encoding="utf-8")
        yield Fleet(alpha, beta, configs)


def _run(pytester: pytest.Pytester, run_id: str, *args: str) -> tuple[pytest.RunResult, Path]:
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-q", "--hypothesis-seed=7", "--certify", f"--run-id={run_id}", *args, timeout=300
    )
    return result, pytester.path / "reports" / run_id


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _text(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in sorted(folder.rglob("*")) if p.is_file())


MODES = [pytest.param(("-p", "no:xdist"), id="sequential"), pytest.param(("-n", "2"), id="two-workers")]


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_each_target_is_certified_in_its_own_report(
    pytester: pytest.Pytester, two_targets: Fleet, mode: tuple[str, ...]
) -> None:
    if mode[0] == "-n":
        pytest.importorskip("xdist")
    result, run_dir = _run(pytester, "fleet", f"--target-config={two_targets.configs}", *mode)
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    index = _json(run_dir / "index.json")
    assert [(t["name"], t["verdict"], t["profiles"]) for t in index["targets"]] == [
        ("alpha", "pass", ["yixin"]),
        ("beta", "pass", ["ekuaibao"]),
    ]
    assert index["certified"] and index["run_id"] == "fleet"
    assert not (run_dir / "certification.json").exists()  # a report per target, an index above them
    for target, url in (("alpha", two_targets.alpha.url("yixin")), ("beta", two_targets.beta.url("ekuaibao"))):
        doc = _json(run_dir / target / "certification.json")
        assert doc["target"] == url and doc["certified"] and doc["run_id"] == "fleet"
        assert {r["profile"] for r in doc["requirements"]} == {doc["profiles"][0]["name"]}
        assert all(r["verdict"] == "pass" for r in doc["requirements"])
        assert doc["outputs"] == {"junit": "../junit.xml", "allure": "../allure-results"}
        assert (run_dir / target / "summary.html").is_file()
        assert f'href="{target}/summary.html"' in (run_dir / "index.html").read_text(encoding="utf-8")
    junit = (run_dir / "junit.xml").read_text(encoding="utf-8")  # one JUnit for the run, node IDs prefixed
    assert 'classname="alpha.yixin"' in junit and 'classname="beta.ekuaibao"' in junit
    results = list((run_dir / "allure-results").glob("*-result.json"))
    total = sum(len(_json(run_dir / t / "certification.json")["requirements"]) for t in ("alpha", "beta"))
    assert len(results) == total
    assert {p.name for p in (pytester.path / "reports").iterdir()} == {"fleet"}


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_a_failing_target_fails_the_run_and_the_other_stays_certified(
    pytester: pytest.Pytester, two_targets: Fleet, mode: tuple[str, ...]
) -> None:
    if mode[0] == "-n":
        pytest.importorskip("xdist")
    two_targets.alpha.states["yixin"].set_faults({"code_reusable"})
    configs = two_targets.configs
    result, run_dir = _run(
        pytester,
        "faulty",
        f"--target-config={configs / 'alpha.yaml'}",
        f"--target-config={configs / 'beta.yaml'}",
        *mode,
    )
    assert result.ret == 1
    alpha, beta = _json(run_dir / "alpha" / "certification.json"), _json(run_dir / "beta" / "certification.json")
    assert (
        alpha["gate"]["failures"] == ["YX-CODE-SINGLE-USE", "YX-LIFECYCLE", "YX-CODE-SINGLE-USE-RACE"]
        and not alpha["gate"]["passed"]
    )
    assert beta["certified"] and beta["gate"]["passed"] and beta["gate"]["exit_status"] == 0
    index = _json(run_dir / "index.json")
    assert {t["name"]: t["verdict"] for t in index["targets"]} == {"alpha": "fail", "beta": "pass"}
    assert not index["gate_passed"]
    assert "‹code#" in (run_dir / "alpha" / "evidence" / "yixin" / "YX-CODE-SINGLE-USE.txt").read_text(encoding="utf-8")
    assert not (run_dir / "beta" / "evidence").exists()
    # Secrets: masked everywhere; nothing of alpha's (secret, URL, codes, tokens) in beta's folder, or back.
    everything, beta_files, alpha_files = _text(run_dir), _text(run_dir / "beta"), _text(run_dir / "alpha")
    issued_alpha, issued_beta = two_targets.issued(two_targets.alpha), two_targets.issued(two_targets.beta)
    assert issued_alpha and issued_beta
    assert ALPHA_SECRET not in everything
    assert not [v for v in issued_alpha | issued_beta if v in everything]
    assert two_targets.alpha.url("yixin") not in beta_files and "YX-" not in beta_files
    assert two_targets.beta.url("ekuaibao") not in alpha_files and "EKB-" not in alpha_files


def test_two_configs_with_one_name_are_refused(pytester: pytest.Pytester) -> None:
    for folder in ("eu", "us"):
        (pytester.path / folder).mkdir()
        config = reference_config("yixin", f"http://127.0.0.1:9/{folder}")
        (pytester.path / folder / "staging.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    result = pytester.runpytest_subprocess("--target-config=eu", "--target-config=us/staging.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.strip()]
    assert len(errors) == 1 and "rename one" in errors[0] and "staging" in errors[0], errors
    assert not (pytester.path / "reports").exists() or not any((pytester.path / "reports").iterdir())


def test_several_targets_are_validated_before_anything_runs(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text(
            yaml.safe_dump(reference_config("yixin", f"http://127.0.0.1:9/{name}")), encoding="utf-8"
        )
    runs = fleet.plan(None, None, [str(tmp_path)])
    assert [(r.name, r.prefix, r.target) for r in runs] == [
        ("a", "a/", "http://127.0.0.1:9/a"),
        ("b", "b/", "http://127.0.0.1:9/b"),
    ]
    assert runs[0].seed == runs[1].seed  # one run, one seed
    with pytest.raises(ConfigError, match="--target with several"):
        fleet.plan("http://127.0.0.1:9", None, [str(tmp_path)])
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({"profile": "yixin"}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"c\.yaml has no `target: URL`"):
        fleet.plan(None, None, [str(tmp_path)])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="holds no"):
        fleet.plan(None, None, [str(tmp_path / "empty")])
    one = fleet.plan(None, None, [str(tmp_path / "a.yaml")])  # one target: today's run, unnamed
    assert [(r.name, r.prefix) for r in one] == [(None, "")]


def test_a_folder_with_one_config_is_a_one_target_run(pytester: pytest.Pytester) -> None:
    with ReferenceServer(["yixin"]) as server:
        (pytester.path / "only").mkdir()
        config = reference_config("yixin", server.url("yixin"))
        (pytester.path / "only" / "yixin.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        result, run_dir = _run(pytester, "one", "--target-config=only", "-p", "no:xdist", "-k", "EXCHANGE")
    assert result.ret == 0, result.stdout.str()
    doc = _json(run_dir / "certification.json")  # today's layout
    traced = [t for r in doc["requirements"] for t in r["decided_by"]]
    assert traced and all(str(t).startswith("yixin::") for t in traced), traced


def test_an_unreachable_target_ends_the_run_with_every_report_written(pytester: pytest.Pytester) -> None:
    with ReferenceServer(["yixin"]) as server:
        (pytester.path / "fleet").mkdir()
        for name, url in (("live", server.url("yixin")), ("gone", "http://127.0.0.1:9/yixin")):
            config = reference_config("yixin", url)
            (pytester.path / "fleet" / f"{name}.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        result, run_dir = _run(pytester, "dead", "--target-config=fleet", "-p", "no:xdist")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.strip()]
    assert len(errors) == 1 and "gone: target unreachable" in errors[0], errors
    index = _json(run_dir / "index.json")
    assert {t["name"]: t["verdict"] for t in index["targets"]} == {"gone": "fail", "live": "incomplete"}
    gone = _json(run_dir / "gone" / "certification.json")
    assert {r["verdict"] for r in gone["requirements"]} == {"error"}
