"""The report of a run with several targets: `<reports-dir>/<run-id>/` holds one folder per target.

```
reports/<run-id>/
  index.json, index.html      each target: URL, profiles, verdict, gate, totals, links
  junit.xml, allure-results/  the run's (every target's items; node IDs `target/profile::ID`)
  <target>/                   a target's own report, as a one-target run writes it:
    certification.json, summary.html, evidence/
```

Each target's folder is written by a ReportPlugin of its own (following that target's items only,
masking with that target's masker only), so a customer can be handed their folder alone. This
plugin makes the run directory, writes the index after the targets' reports, and reports where
everything went. The exit status fails when any target's gate fails (each ReportPlugin applies
its own gate).
"""

from __future__ import annotations

import json
from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conformance.engine.runtime import Runtime
from conformance.model.errors import SuiteError
from conformance.pytest_plugin import xdist as parallel
from conformance.pytest_plugin.report_hooks import FREE_TEXT, ReportPlugin, _iso
from conformance.report import html
from conformance.report.index import INDEX_FORMAT, outcome, target_entry
from conformance.report.run_dir import RunDir, new_run_id


class FleetReport:
    def __init__(self, runtimes: list[Runtime], config: pytest.Config) -> None:
        self.config = config
        self.started = datetime.now(UTC)
        self.run_dir: RunDir | None = None
        self.index: dict[str, Any] | None = None
        if not config.option.collectonly and not parallel.is_worker(config):
            here = Path(config.invocation_params.dir)
            try:
                run_id = config.getoption("run_id") or new_run_id(self.started)
                self.run_dir = RunDir.create(here / config.getoption("reports_dir"), run_id)
            except SuiteError as exc:
                raise pytest.UsageError(str(exc)) from None
        self.parts = [ReportPlugin(runtime, config, self.run_dir) for runtime in runtimes]
        self.junit = self.parts[0].junit
        self.allure = self.parts[0].allure  # where a parallel run's controller puts the workers' results

    def pytest_report_header(self) -> str | None:
        return f"oauth2-conformance: reports in {self.run_dir.path} (one folder per target)" if self.run_dir else None

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, None, None]:
        """Around every other implementation: the targets' reports are written when the index is."""
        yield
        self._write_index()

    def write_aborted(self, session: pytest.Session) -> Path | None:
        """A target was unreachable from the start: every target's report, and the index, say so."""
        if self.run_dir is None:
            return None
        for part in self.parts:
            part.write_aborted(session)
        self._write_index()
        return self.run_dir.path

    def _write_index(self) -> None:
        run_dir = self.run_dir
        if run_dir is None or any(part.certification is None for part in self.parts):
            return
        targets = []
        for part in self.parts:
            doc, name = part.certification, part.runtime.run.name
            assert doc is not None and name is not None and part.gate is not None
            targets.append(target_entry(name, doc, part.gate.passed))
        index: dict[str, Any] = {
            "format": INDEX_FORMAT,
            "run_id": run_dir.run_id,
            "started": _iso(self.started),
            "finished": _iso(datetime.now(UTC)),
            "seed": self.parts[0].runtime.run.seed,
            "command": list(self.config.invocation_params.args),
            "outputs": {"junit": _name(self.junit, run_dir), "allure": _name(self.allure, run_dir)},
            **outcome(targets),
        }
        for part in self.parts:  # the index names every target: each one's masker has its say
            index = part.scrubber.fields(index, FREE_TEXT)
        self.index = index
        (run_dir.path / "index.json").write_text(json.dumps(index, indent=2, ensure_ascii=False) + "\n", "utf-8")
        (run_dir.path / "index.html").write_text(html.render_index(index), encoding="utf-8")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.run_dir is None or not all(part.certification is not None for part in self.parts):
            return
        tr = terminalreporter
        tr.section("conformance targets")
        for part in self.parts:
            doc = part.certification
            assert doc is not None
            label = html.HEADLINE.get(doc["verdict"], doc["verdict"])
            tr.line(
                f"{part.runtime.run.name:<16} {label:<26} {doc['target']}",
                green=doc["certified"],
                red=doc["verdict"] == "fail",
            )
        outputs = [n for n in (_name(self.junit, self.run_dir), _name(self.allure, self.run_dir)) if n]
        tr.line(f"reports: {self.run_dir.path} (index.html, index.json, <target>/, {', '.join(outputs)})")

    def pytest_unconfigure(self) -> None:
        if self.run_dir is not None and self.index is None:
            self.run_dir.remove_if_empty()


def _name(path: Path | None, run_dir: RunDir) -> str | None:
    if path is None:
        return None
    return path.relative_to(run_dir.path).as_posix() if path.is_relative_to(run_dir.path) else str(path)
