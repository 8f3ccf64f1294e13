"""Deciding one requirement: run its check, and turn what happened into a verdict.

Shared by the pytest items and by anything else that runs checks (the project's mutant tests).
"""

from __future__ import annotations

from dataclasses import dataclass

from .checks import REGISTRY, CheckContext
from .errors import MissingPrerequisite, PreconditionFailed, SuiteError, Violation
from .evidence import EvidenceLog
from .session import ProfileSession
from .spec import Requirement
from .validation import ResponseValidator

STATUSES = ("pass", "fail", "warning", "not run", "error")


@dataclass
class Verdict:
    """What a run decided about one requirement, with the evidence that decided it."""

    requirement: Requirement
    status: str  # one of STATUSES
    reason: str
    log: EvidenceLog
    violation: Violation | None = None
    error: SuiteError | None = None


def decide(
    requirement: Requirement, session: ProfileSession, validator: ResponseValidator, *, strict: bool = False
) -> Verdict:
    """Run the requirement's check once. A MUST violation fails; a SHOULD/MAY one, or any
    violation of an advisory (RFC-only) requirement, is a warning unless `strict`."""
    session.client.log = log = EvidenceLog()
    check = REGISTRY[requirement.check]
    try:
        check(CheckContext(session, validator, requirement))
    except (MissingPrerequisite, PreconditionFailed) as exc:
        return Verdict(requirement, "not run", session.masker.mask(str(exc)), log)
    except SuiteError as exc:
        return Verdict(requirement, "error", session.masker.mask(str(exc)), log, error=exc)
    except Violation as exc:
        lenient = requirement.advisory or (requirement.level != "MUST" and not strict)
        status = "warning" if lenient else "fail"
        return Verdict(requirement, status, session.masker.mask(exc.message), log, violation=exc)
    return Verdict(requirement, "pass", "", log)
