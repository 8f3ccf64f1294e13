"""The pytest items: one per requirement of each selected profile, decided by its check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from .checks import REGISTRY, CheckContext
from .errors import MissingPrerequisite, PreconditionFailed, SuiteError, TargetUnreachable, Violation
from .evidence import EvidenceLog, curl_script, render_all
from .runtime import Runtime
from .spec import Profile, Requirement


@dataclass
class Verdict:
    """What a run decided about one requirement (the reports are built from these)."""

    requirement: Requirement
    status: str  # pass | fail | warning | not run | error
    reason: str = ""
    evidence: str = ""
    exchanges: int = 0


class ProfileCollector(pytest.Collector):
    """Groups the requirement items of one profile: node IDs read `yixin::YX-CODE-SINGLE-USE`."""

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
            [("requirement", requirement.id), ("level", requirement.level), ("source", requirement.source)]
        )

    def runtest(self) -> None:
        requirement = self.requirement
        profile = self.runtime.plan.profiles_by_name[requirement.profile]
        session, validator = self.runtime.session(profile)
        session.client.log = log = EvidenceLog()
        check = REGISTRY[requirement.check]
        try:
            check(CheckContext(session, validator, requirement))
        except (MissingPrerequisite, PreconditionFailed) as exc:
            self._decide("not run", str(exc), log)
            pytest.skip(f"not run: {exc}")
        except TargetUnreachable as exc:
            self._decide("error", str(exc), log)
            raise
        except SuiteError as exc:
            self._decide("error", str(exc), log)
            raise
        except Violation as exc:
            if requirement.advisory or (requirement.level != "MUST" and not self.runtime.plan.strict):
                self._decide("warning", exc.message, log)
                return
            self._decide("fail", exc.message, log)
            raise
        self._decide("pass", "", log)

    def _decide(self, status: str, reason: str, log: EvidenceLog) -> None:
        masker = self.runtime.masker
        evidence = render_all(log, masker) if status != "pass" else ""
        self.verdict = Verdict(self.requirement, status, masker.mask(reason), evidence, log.count)
        self.runtime.verdicts[self.requirement.id] = self.verdict
        if status in {"fail", "warning"} and len(log):
            self.runtime.attach(self, evidence, curl_script(log, masker))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        exc = excinfo.value
        masker = self.runtime.masker
        if isinstance(exc, Violation):
            req = exc.requirement
            lines = [
                f"{req.cite()} violated",
                f"  requirement: {req.text}" if req.text else "",
                f"  {masker.mask(exc.message)}",
                "",
                "exchanges (secrets masked):",
                render_all(exc.exchanges, masker),
            ]
            return "\n".join(line for line in lines if line is not None)
        if isinstance(exc, SuiteError):
            return f"could not talk to the target: {masker.mask(str(exc))}"
        return masker.mask(str(super().repr_failure(excinfo)))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.requirement_path(), None, f"{self.requirement.cite()}"

    def requirement_path(self) -> Any:
        return self.runtime.plan.profiles_by_name[self.requirement.profile].path
