"""Run reports: certification.json, summary.html, JUnit XML and allure results under reports/<run-id>/.

The report layer holds pure writers: they read the model and the verdicts, and know nothing of
checks or pytest (the hooks that call them are in `conformance.pytest_plugin`). Modules, one
concept each: `run_dir` (where a run's files go), `scrub` (masking report data as values, and the
parsed pass over other plugins' files), `certification` (the JSON record and its verdicts), `gate`
(exit status and baseline findings), `baseline` (the expected-failures file), `evidence_files`,
`html` (summary.html), `trace` (the traceability matrix), `diff`, and `merge` (shards joined into
one report).
"""

from __future__ import annotations

from pathlib import Path

from conformance.report import certification
from conformance.report import html as _html
from conformance.report.diff import diff_runs
from conformance.report.run_dir import RunDir

__all__ = ["diff_runs", "render_html"]


def render_html(run_dir: str | Path) -> Path:
    """Re-render summary.html of a run directory from its certification.json and evidence files."""
    located = RunDir.locate(run_dir)
    return _html.write(certification.load(located.certification), located)
