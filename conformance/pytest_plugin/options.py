"""The report options, added to the suite's option group by `conformance.plugin.pytest_addoption`.

Kept here so the names live next to the code that reads them; the values are read back by `dest`.
"""

from __future__ import annotations

import os
from typing import Any

REPORTS_DIR = "--reports-dir"
RUN_ID = "--run-id"
BASELINE = "--baseline"
REPORTS_ENV = "OAUTH2_CONFORMANCE_REPORTS"


def add_options(group: Any) -> None:
    """Add the report options to `group` (a pytest OptionGroup)."""
    group.addoption(
        REPORTS_DIR,
        dest="reports_dir",
        default=os.environ.get(REPORTS_ENV, "reports"),
        metavar="DIR",
        help="where each run writes <run-id>/ (junit.xml, allure-results/, certification.json, summary.html); "
        f"relative to the invocation directory; default: reports. Env: {REPORTS_ENV}.",
    )
    group.addoption(
        RUN_ID,
        dest="run_id",
        default=None,
        metavar="ID",
        help="name of the run directory (default: UTC start time plus 4 hex digits, e.g. 20261122T041500Z-1f3a)",
    )
    group.addoption(
        BASELINE,
        dest="baseline",
        default=None,
        metavar="FILE",
        help="YAML or JSON list of {id, reason}: requirements expected to fail on this target; their failures "
        "do not fail the run, a new failure does, and entries that now pass or never ran are flagged",
    )
