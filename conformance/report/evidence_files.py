"""Evidence files: the masked exchanges behind each verdict, and a replay script for a finding.

Stored next to certification.json (`evidence/<profile>/<ID>.txt`, `.sh`) so a vendor can show a
customer what was sent and received, and `report` can re-render the HTML without the run.
"""

from __future__ import annotations

import re
from pathlib import Path

from conformance.engine.verdicts import Verdict
from conformance.model.exchange import curl_script, render_all
from conformance.report.run_dir import RunDir
from conformance.report.scrub import Scrubber

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class EvidenceFiles:
    def __init__(self, run_dir: RunDir, scrubber: Scrubber) -> None:
        self.run_dir = run_dir
        self.scrubber = scrubber

    def write(self, verdict: Verdict | None) -> tuple[str | None, str | None]:
        """(exchanges file, replay script) relative to the run directory; None where there is nothing."""
        if verdict is None or not len(verdict.log):
            return None, None
        requirement = verdict.requirement
        folder = self.run_dir.evidence / _UNSAFE.sub("_", requirement.profile)
        folder.mkdir(parents=True, exist_ok=True)
        stem = _UNSAFE.sub("_", requirement.id)
        masker = self.scrubber.masker  # each field masked, then sanitized, then cut (Exchange.render)
        exchanges = folder / f"{stem}.txt"
        header = f"# {requirement.cite()}: {verdict.status}"
        if verdict.log.count > len(verdict.log):
            header += f" (last {len(verdict.log)} of {verdict.log.count} exchanges)"
        exchanges.write_text(f"{header}\n{render_all(verdict.log, masker)}\n", encoding="utf-8")
        script = None
        if verdict.status != "pass":
            script = folder / f"{stem}.sh"
            script.write_text(curl_script(verdict.log, masker), encoding="utf-8")
        return self._relative(exchanges), self._relative(script) if script else None

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.run_dir.path).as_posix()
