"""oauth2-conformance: a specification-driven conformance suite for OAuth2-style token interfaces.

The layers, lowest first, each importing only those before it (ARCHITECTURE.md):
`model` (specs, requirements, errors, exchanges, masking) < `target` (client, session and its
helpers) < `checks` (registered checks and Hypothesis properties) < `engine` (plan, run, runtime,
verdicts, fleet) < `report` (writers of certification.json, summary.html, evidence) <
`pytest_plugin` (options, items, xdist, the report hooks) < `tools` (cli, init, probe).
`servers` (the embedded reference servers) imports nothing of the package.

The names below are the public API: what a spec author, a plugin user and a report reader touch.
They resolve on first use (PEP 562), so `import conformance` loads nothing heavy: pytest must be
able to import this package before any web framework its plugins would then fail to rewrite.
The command imports this package before pytest loads the plugin, so pytest is told not to try
rewriting it (PYTEST_DONT_REWRITE): it holds no assertions.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    # the model: specs and requirements
    "Profile": "conformance.model.spec",
    "Flow": "conformance.model.spec",
    "Requirement": "conformance.model.spec",
    "Level": "conformance.model.spec",
    "load_profiles": "conformance.model.spec",
    "load_profile": "conformance.model.spec",
    "TargetConfig": "conformance.model.config",
    "Exchange": "conformance.model.exchange",
    "Masker": "conformance.model.masking",
    # errors a check raises, and those a user sees
    "Violation": "conformance.model.violation",
    "SuiteError": "conformance.model.errors",
    "ConfigError": "conformance.model.errors",
    "SpecError": "conformance.model.errors",
    "TargetError": "conformance.model.errors",
    "NotApplicable": "conformance.model.errors",
    "MissingPrerequisite": "conformance.model.errors",
    "PreconditionFailed": "conformance.model.errors",
    # writing a check
    "check": "conformance.checks.base",
    "CheckContext": "conformance.checks.base",
    "Traits": "conformance.checks.base",
    # reading verdicts
    "Status": "conformance.engine.verdicts",
    "Verdict": "conformance.engine.verdicts",
    "Certification": "conformance.engine.verdicts",
}

__all__ = [
    "Certification",
    "CheckContext",
    "ConfigError",
    "Exchange",
    "Flow",
    "Level",
    "Masker",
    "MissingPrerequisite",
    "NotApplicable",
    "PreconditionFailed",
    "Profile",
    "Requirement",
    "SpecError",
    "Status",
    "SuiteError",
    "TargetConfig",
    "TargetError",
    "Traits",
    "Verdict",
    "Violation",
    "__version__",
    "check",
    "load_profile",
    "load_profiles",
]

if TYPE_CHECKING:
    from conformance.checks.base import CheckContext, Traits, check
    from conformance.engine.verdicts import Certification, Status, Verdict
    from conformance.model.config import TargetConfig
    from conformance.model.errors import (
        ConfigError,
        MissingPrerequisite,
        NotApplicable,
        PreconditionFailed,
        SpecError,
        SuiteError,
        TargetError,
    )
    from conformance.model.exchange import Exchange
    from conformance.model.masking import Masker
    from conformance.model.spec import Flow, Level, Profile, Requirement, load_profile, load_profiles
    from conformance.model.violation import Violation


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'conformance' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
