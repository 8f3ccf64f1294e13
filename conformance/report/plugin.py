"""Placeholder: the report plugin (see conformance/report/__init__.py)."""

from __future__ import annotations

from typing import Any


class ReportPlugin:
    def __init__(self, runtime: Any, config: Any) -> None:
        self.runtime = runtime
        self.config = config
