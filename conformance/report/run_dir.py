"""Where a run's reports go: `<reports-dir>/<run-id>/`, one directory per run.

The run ID starts with the UTC start time, so `ls reports/` lists runs in the order they ran, and
ends with random hex digits, so two CI jobs started in the same second do not write into one
directory.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from conformance.model.errors import ConfigError

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
CERTIFICATION = "certification.json"
SUMMARY = "summary.html"


def new_run_id(started: datetime) -> str:
    """`20261122T041500Z-1f3a`: sortable by time, unique enough for parallel jobs."""
    return f"{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


@dataclass(frozen=True)
class RunDir:
    """The files of one run, by role."""

    path: Path

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def junit(self) -> Path:
        return self.path / "junit.xml"

    @property
    def allure(self) -> Path:
        return self.path / "allure-results"

    @property
    def certification(self) -> Path:
        return self.path / CERTIFICATION

    @property
    def summary(self) -> Path:
        return self.path / SUMMARY

    @property
    def target_config(self) -> Path:
        """The config a run derived for a target given by URL alone: to edit and pass as --target-config."""
        return self.path / "target-config.yaml"

    @property
    def evidence(self) -> Path:
        return self.path / "evidence"

    @classmethod
    def create(cls, reports_dir: Path, run_id: str) -> RunDir:
        """A fresh directory; reusing one would mix two runs' evidence, so an existing one is an error."""
        if not _SAFE_ID.match(run_id):
            raise ConfigError(f"--run-id {run_id!r}: use letters, digits, '.', '_' and '-' (it names a directory)")
        path = reports_dir / run_id
        if path.exists() and any(path.iterdir()):
            raise ConfigError(f"report directory {path} already holds a run; pick another --run-id")
        path.mkdir(parents=True, exist_ok=True)
        return cls(path)

    @classmethod
    def locate(cls, given: str | Path) -> RunDir:
        """A run directory named on the command line, or the certification.json inside it."""
        path = Path(given)
        if path.is_file() and path.name == CERTIFICATION:
            path = path.parent
        if not (path / CERTIFICATION).is_file():
            raise ConfigError(f"{given}: no {CERTIFICATION} there (give a run directory such as reports/<run-id>)")
        return cls(path)

    def remove_if_empty(self) -> None:
        """Clean up after a run that never started (a usage error): leave no empty run directory."""
        for sub in (self.allure, self.evidence, self.path):
            with contextlib.suppress(OSError):
                sub.rmdir()
