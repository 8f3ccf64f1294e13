"""The one place a requirement's verdict is decided.

`decide` runs a requirement's check in its own context and turns what happened into a Verdict.
`absent` gives the verdict of a requirement whose check never ran (deselected, stopped, aborted).
Everything else (the pytest outcome, the terminal, JUnit, Allure, certification.json, the HTML)
reads the Verdict; nothing downstream re-decides it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .checks import REGISTRY, CheckContext
from .errors import MissingPrerequisite, NotApplicable, PreconditionFailed, SuiteError, Violation
from .evidence import EvidenceLog, Recorder, recording
from .session import ProfileSession
from .spec import Level, Requirement
from .validation import ResponseValidator

NO_EXCHANGE = "the check passed without sending a request, so nothing was verified"


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARNING = "warning"  # a SHOULD/MAY or advisory requirement broken: reported, never failing
    NOT_RUN = "not run"  # undecided, with the reason (what to configure, which step did not work)
    NOT_APPLICABLE = "not applicable"  # the target does not offer the feature the requirement is about
    ERROR = "error"  # the suite could not talk to the target


STATUSES = tuple(Status)


@dataclass
class Verdict:
    """What a run decided about one requirement, with the evidence that decided it.

    `log` holds the exchanges of the deciding example (the minimal one, for a property); `exchanges`
    counts every exchange the check made.
    """

    requirement: Requirement
    status: Status
    reason: str
    log: EvidenceLog
    exchanges: int = 0
    violation: Violation | None = None
    error: SuiteError | None = None

    @property
    def decided(self) -> bool:
        """The target's behaviour settled it (pass, fail or warning)."""
        return self.status in {Status.PASS, Status.FAIL, Status.WARNING}


def decide(
    requirement: Requirement, session: ProfileSession, validator: ResponseValidator, *, strict: bool = False
) -> Verdict:
    """Run the requirement's check once, in a context that owns its evidence.

    A MUST violation fails; a SHOULD/MAY one, or any violation of an advisory (RFC-only)
    requirement, is a warning unless `strict`. A check that passes without a single exchange
    verified nothing: it is `not run`, never `pass`.
    """
    recorder = Recorder()
    ctx = CheckContext(session, validator, requirement, recorder)
    mask = session.masker.mask

    def verdict(status: Status, reason: str, **extra: object) -> Verdict:
        return Verdict(requirement, status, mask(reason), recorder.example, recorder.total, **extra)  # type: ignore[arg-type]

    with recording(recorder):
        try:
            try:
                REGISTRY[requirement.check](ctx)
            except BaseExceptionGroup as group:  # Hypothesis found several distinct failures
                raise _first(group) from None
        except NotApplicable as exc:
            return verdict(Status.NOT_APPLICABLE, str(exc))
        except (MissingPrerequisite, PreconditionFailed) as exc:
            return verdict(Status.NOT_RUN, str(exc))
        except SuiteError as exc:
            return verdict(Status.ERROR, str(exc), error=exc)
        except Violation as exc:
            lenient = requirement.advisory or (requirement.level != Level.MUST and not strict)
            return verdict(Status.WARNING if lenient else Status.FAIL, exc.message, violation=exc)
    if recorder.total == 0:
        return verdict(Status.NOT_RUN, NO_EXCHANGE)
    return verdict(Status.PASS, "")


def absent(requirement: Requirement, status: Status, reason: str) -> Verdict:
    """The verdict of a requirement whose check did not run (or could not start)."""
    return Verdict(requirement, status, reason, EvidenceLog())


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
