"""The one place a requirement's verdict is decided.

`decide` runs a requirement's check in its own context and turns what happened into a Verdict.
`absent` gives the verdict of a requirement whose check never ran (deselected, stopped, aborted).
Everything else (the pytest outcome, the terminal, JUnit, Allure, certification.json, the HTML)
reads the Verdict; nothing downstream re-decides it.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum

from conformance.checks.base import CheckContext
from conformance.engine.plan import Binding
from conformance.model.errors import MissingPrerequisite, NotApplicable, PreconditionFailed, SuiteBug, SuiteError
from conformance.model.exchange import EvidenceLog
from conformance.model.sanitize import cut, one_line, visible
from conformance.model.spec import Level, Requirement
from conformance.model.violation import Violation
from conformance.target.evidence import Recorder, recording
from conformance.target.session import ProfileSession
from conformance.target.validation import ResponseValidator

NO_EXCHANGE = "the check passed without sending a request, so nothing was verified"


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARNING = "warning"  # a SHOULD/MAY or advisory requirement broken: reported, never failing
    NOT_RUN = "not run"  # undecided, with the reason (what to configure, which step did not work)
    NOT_APPLICABLE = "not applicable"  # the target does not offer the feature the requirement is about
    ERROR = "error"  # the suite could not talk to the target, or a bug of the suite's own


STATUSES = tuple(Status)


class Certification(StrEnum):
    """The outcome of a profile, a target or a whole run: what certification.json, the gate, the
    fleet index and the terminal all say, computed only by `certification` and `worst`."""

    PASS = "pass"  # certified: every non-advisory MUST requirement ran and passed
    FAIL = "fail"  # a blocking MUST failed or errored
    INCOMPLETE = "incomplete"  # some blocking MUST did not run (or there was nothing to certify)


def blocks(requirement: Requirement, status: Status | str) -> bool:
    """A non-advisory MUST requirement that did not pass keeps its profile from being certified."""
    return requirement.level == Level.MUST and not requirement.advisory and Status(status) != Status.PASS


def certification(blocking: Iterable[Status | str]) -> Certification:
    """A profile's outcome from the statuses of its blocking requirements."""
    statuses = {Status(s) for s in blocking}
    if not statuses:
        return Certification.PASS
    return Certification.FAIL if statuses & {Status.FAIL, Status.ERROR} else Certification.INCOMPLETE


def worst(outcomes: Iterable[Certification | str]) -> Certification:
    """A run's (or a fleet's) outcome from its parts': the worst of them; nothing at all is incomplete."""
    seen = {Certification(o) for o in outcomes}
    if not seen:
        return Certification.INCOMPLETE
    for outcome in (Certification.FAIL, Certification.INCOMPLETE):
        if outcome in seen:
            return outcome
    return Certification.PASS


@dataclass(frozen=True)
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

    def kept(self) -> Verdict:
        """The verdict as a run keeps it: a pass keeps only its exchange count (memory stays flat)."""
        return replace(self, log=self.log.summary()) if self.status == Status.PASS else self


def decide(binding: Binding, session: ProfileSession, validator: ResponseValidator, *, strict: bool = False) -> Verdict:
    """Run the requirement's check once, in a context that owns its evidence.

    A MUST violation fails; a SHOULD/MAY one, or any violation of an advisory (RFC-only)
    requirement or a finding the check gives as advice (`Violation.advice`), is a warning unless
    `strict` (and advice stays a warning even then). A check that passes without a single exchange
    verified nothing: it is `not run`, never `pass`.
    """
    requirement = binding.requirement
    recorder = Recorder()
    ctx = CheckContext(session, validator, requirement, recorder, binding.options)
    mask = session.masker.mask

    def verdict(status: Status, reason: str, **extra: object) -> Verdict:
        shown = cut(one_line(mask(reason)), REASON_LIMIT)
        return Verdict(requirement, status, shown, recorder.example, recorder.total, **extra)  # type: ignore[arg-type]

    with recording(recorder):
        try:
            try:
                binding.declaration.run(ctx)
            except BaseExceptionGroup as group:  # Hypothesis found several distinct failures
                raise _first(group) from None
        except NotApplicable as exc:
            return verdict(Status.NOT_APPLICABLE, str(exc))
        except (MissingPrerequisite, PreconditionFailed) as exc:
            return verdict(Status.NOT_RUN, str(exc))
        except SuiteError as exc:
            return verdict(Status.ERROR, str(exc), error=exc)
        except Violation as exc:
            # A finding the check marks as advice (no document line states it) warns like an RFC-only one.
            lenient = requirement.advisory or exc.advice or (requirement.level != Level.MUST and not strict)
            if exc.exchanges and list(recorder.example) != list(exc.exchanges):
                # Examples ran after the one that broke it (a race replayed and won fairly, say): the
                # evidence is the breaking example's, which the violation carries.
                recorder.example = EvidenceLog()
                for exchange in exc.exchanges:
                    recorder.example.add(exchange)
            return verdict(Status.WARNING if lenient else Status.FAIL, exc.message, violation=exc)
        except Exception as exc:  # everything a target can cause became one of the above: a bug of ours
            bug = suite_bug(exc, mask)
            return verdict(Status.ERROR, str(bug), error=bug)
    if recorder.total == 0:
        return verdict(Status.NOT_RUN, NO_EXCHANGE)
    return verdict(Status.PASS, "")


REASON_LIMIT = 2000  # characters of a reason kept (after masking): a 64 KB error_description is cut


def suite_bug(exc: BaseException, mask: Callable[[str], str]) -> SuiteBug:
    """An exception no target can cause (the client and session turn those into verdicts): a bug
    in the suite. Its traceback is kept masked, sanitized and without locals, for the bug report."""
    frames = traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-12)
    detail = one_line(mask(f"{type(exc).__name__}: {exc}"))
    return SuiteBug(
        f"internal error in oauth2-conformance (a bug: please report it): {cut(detail, 500)}",
        visible(mask("".join(frames))),
    )


def absent(
    requirement: Requirement, status: Status, reason: str, *, log: EvidenceLog | None = None, exchanges: int = 0
) -> Verdict:
    """The verdict of a requirement whose check did not run here: it could not start, never ran, or
    ran in another process (a pytest-xdist worker's verdict, rebuilt on the controller with the
    masked `log` it sent)."""
    return Verdict(requirement, status, reason, log if log is not None else EvidenceLog(), exchanges)


NEVER_COLLECTED = "not collected: no test for it in this session"
DESELECTED = "deselected (-k, -m, --deselect, or another --shard)"
STOPPED = "never ran: the session stopped before it (-x, --maxfail or an interrupt)"


@dataclass
class ItemTrace:
    """What the test runner did with a requirement's item: collected, deselected, skipped, errored, ran.

    The verdicts say what the target did; this says why a requirement has none, so the report can
    call it `not run` with a reason (through `absent`) instead of leaving a gap (or a green)."""

    nodeids: list[str] = field(default_factory=list)
    deselected: bool = False
    ran: bool = False
    skip_reason: str = ""
    error: str = ""
    decided_by: list[str] = field(default_factory=list)

    @property
    def selected(self) -> bool:
        return bool(self.nodeids) and not self.deselected

    def absent(self, requirement: Requirement) -> Verdict:
        """The verdict of a requirement whose check never ran, so recorded no verdict."""
        if not self.nodeids:
            return absent(requirement, Status.NOT_RUN, NEVER_COLLECTED)
        if self.deselected:
            return absent(requirement, Status.NOT_RUN, DESELECTED)
        if self.error:
            return absent(requirement, Status.ERROR, self.error)
        if self.skip_reason:
            return absent(requirement, Status.NOT_RUN, f"skipped: {self.skip_reason}")
        if not self.ran:
            return absent(requirement, Status.NOT_RUN, STOPPED)
        return absent(requirement, Status.NOT_RUN, "the test ran but recorded no verdict")


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
