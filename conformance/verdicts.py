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
    session.client.log = EvidenceLog()
    check = REGISTRY[requirement.check]
    mask = session.masker.mask
    try:
        try:
            check(CheckContext(session, validator, requirement))
        except BaseExceptionGroup as group:  # Hypothesis found several distinct failures
            raise _first(group) from None
    except (MissingPrerequisite, PreconditionFailed) as exc:
        return Verdict(requirement, "not run", mask(str(exc)), session.client.log)
    except SuiteError as exc:
        return Verdict(requirement, "error", mask(str(exc)), session.client.log, error=exc)
    except Violation as exc:
        lenient = requirement.advisory or (requirement.level != "MUST" and not strict)
        status = "warning" if lenient else "fail"
        return Verdict(requirement, status, mask(exc.message), session.client.log, violation=exc)
    # A property replaces the log per example; the session's log is the last one.
    return Verdict(requirement, "pass", "", session.client.log)


def _first(group: BaseExceptionGroup) -> BaseException:
    """The first violation (or else the first error) of an exception group."""
    leaves: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        exc = stack.pop(0)
        if isinstance(exc, BaseExceptionGroup):
            stack[:0] = list(exc.exceptions)
        else:
            leaves.append(exc)
    return next((e for e in leaves if isinstance(e, Violation)), leaves[0])
