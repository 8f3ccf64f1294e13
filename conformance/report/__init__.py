"""Run reports: certification.json, summary.html, JUnit XML and allure results under reports/<run-id>/."""

from __future__ import annotations

from typing import IO


def render_html(run_dir: str) -> str:
    raise NotImplementedError


def diff_runs(run_a: str, run_b: str, out: IO[str]) -> int:
    raise NotImplementedError
