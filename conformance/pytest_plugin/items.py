"""The pytest items: one per requirement of each selected profile, decided by its check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from conformance.engine.runtime import Runtime
from conformance.engine.verdicts import Status, Verdict, absent, decide, suite_bug
from conformance.model.errors import SuiteBug, SuiteError
from conformance.model.exchange import curl_script, render_all
from conformance.model.sanitize import one_line, visible
from conformance.model.spec import Profile, Requirement
from conformance.model.violation import Violation
from conformance.pytest_plugin.locks import guard

# What decides items concurrently (pytest_plugin/concurrency.py): the item's verdict, already decided
# in a pool thread, or None to decide it here, as a sequential run does.
DECIDED = pytest.StashKey[Callable[["RequirementItem"], Verdict | None]]()


def outcome_of(verdict: Verdict) -> None:
    """The pytest outcome of the setup phase, derived from the verdict and nothing else.

    pass and warning: the test proceeds (a warning shows as W); fail: the call phase raises the
    violation; not run and not applicable: a skip saying why; error: a setup error.
    """
    if verdict.status == Status.NOT_RUN:
        pytest.skip(f"not run: {verdict.reason}")
    if verdict.status == Status.NOT_APPLICABLE:
        pytest.skip(f"not applicable: {verdict.reason}")
    if verdict.status == Status.ERROR:
        if isinstance(verdict.error, SuiteBug):
            pytest.fail(f"not run: {verdict.reason}\n{verdict.error.trace}", pytrace=False)
        pytest.fail(f"not run: could not talk to the target: {verdict.reason}", pytrace=False)


class ProfileCollector(pytest.Collector):
    """Groups the requirement items of one profile: node IDs read `yixin::YX-CODE-SINGLE-USE`
    (`staging-eu/yixin::YX-CODE-SINGLE-USE` when the run has several targets)."""

    def __init__(self, *, profile: Profile, runtime: Runtime, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.profile = profile
        self.runtime = runtime

    def collect(self) -> list[pytest.Item]:
        return [
            RequirementItem.from_parent(self, name=r.id, requirement=r, runtime=self.runtime)
            for r in self.profile.requirements
        ]


class RequirementItem(pytest.Item):
    def __init__(self, *, requirement: Requirement, runtime: Runtime, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.requirement = requirement
        self.runtime = runtime
        self.verdict: Verdict | None = None
        self.user_properties.extend(
            [("requirement", requirement.id), ("level", str(requirement.level)), ("source", requirement.source)]
        )

    def setup(self) -> None:
        """Talking to the target happens here, so "could not talk to it" is a pytest error,
        kept apart from "it broke the requirement", which is a failure of the call phase."""
        requirement = self.requirement
        concurrent = self.config.stash.get(DECIDED, None)
        try:  # decided in a pool thread (--concurrency), else here
            decided = concurrent(self) if concurrent is not None else None
            verdict = decided if decided is not None else self._decide()
        except SuiteError as exc:  # the session could not be set up (a config or target problem)
            reason = one_line(self.runtime.masker.mask(str(exc)))
            verdict = replace(absent(requirement, Status.ERROR, reason), error=exc)
        except Exception as exc:  # outside decide: a bug of ours, told masked and without locals
            bug = suite_bug(exc, self.runtime.masker.mask)
            verdict = replace(absent(requirement, Status.ERROR, str(bug)), error=bug)
        self.verdict = verdict
        self.runtime.record(self, verdict)
        self.user_properties.extend([("verdict", str(verdict.status)), ("reason", verdict.reason)])
        outcome_of(verdict)

    def _decide(self) -> Verdict:
        """Decide the requirement here and now, in the calling thread (the sequential path)."""
        requirement = self.requirement
        profile = self.runtime.run.profiles_by_name[requirement.profile]
        session, validator = self.runtime.session(profile)
        target = self.runtime.run.target
        with guard(self.config, requirement, session, target):  # a parallel run's lock on a shared target
            return decide(self.runtime.run.plan.of(requirement), session, validator, strict=self.runtime.run.strict)

    def runtest(self) -> None:
        verdict = self.verdict
        if verdict is not None and verdict.status == Status.FAIL and verdict.violation is not None:
            raise verdict.violation

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        exc = excinfo.value
        masker = self.runtime.masker
        if isinstance(exc, Violation):
            req = exc.requirement
            lines = [
                f"{req.cite()} violated",
                f"  requirement: {req.text}" if req.text else "",
                f"  {visible(masker.mask(exc.message))}",
                "",
                "exchanges (secrets masked):",
                render_all(exc.exchanges, masker),
                "",
                "reproduce (fill in the masked values):",
                curl_script(exc.exchanges, masker),
                *(visible(masker.mask(str(note))) for note in getattr(exc, "__notes__", [])),
            ]
            return "\n".join(line for line in lines if line is not None)
        if isinstance(exc, SuiteError):
            return f"could not talk to the target: {one_line(masker.mask(str(exc)))}"
        # Anything else is the suite's: a short traceback, never its locals (they hold secrets,
        # whatever --showlocals says), masked and sanitized.
        shown = excinfo.getrepr(style="short", showlocals=False, funcargs=False, chain=True)
        return visible(masker.mask(str(shown)))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.requirement_path(), None, f"{self.requirement.cite()}"

    def requirement_path(self) -> Any:
        return self.runtime.run.profiles_by_name[self.requirement.profile].path
