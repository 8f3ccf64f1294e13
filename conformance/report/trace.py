"""The traceability matrix: every normative line of a document, and the requirements that decide it.

A spec marks its document's normative lines, and says why a line cannot be tested where it cannot:

    x-conformance:
      traceability:
        normative: [35, 45-48, "57, 85-89"]     # lines that state what a server does
        not_testable:
          23: the login page belongs to the vendor's app; no HTTP interface states it

A requirement covers the lines it cites (`line`, `lines`); derived requirements cover their flow's
and parameter's lines. `oauth2-conformance trace PROFILE` prints the matrix, summary.html shows
it, and the project's tests fail when a normative line has neither a requirement nor a reason.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.model.errors import SpecError
from conformance.model.spec import Profile, line_numbers


@dataclass(frozen=True)
class TraceRow:
    line: int
    text: str  # the document's line, when the document is at hand
    normative: bool
    requirements: tuple[str, ...]
    not_testable: str | None

    @property
    def status(self) -> str:
        if self.requirements:
            return "covered"
        if self.not_testable:
            return "not testable"
        return "uncovered" if self.normative else "cited"


def _block(profile: Profile) -> Mapping[str, Any]:
    block = profile.raw.get("x-conformance", {}).get("traceability") or {}
    if not isinstance(block, Mapping):
        raise SpecError(f"spec {profile.path.name}: traceability must be a mapping")
    return block


def normative_lines(profile: Profile) -> tuple[int, ...]:
    return line_numbers(*(_block(profile).get("normative") or ()))


def not_testable(profile: Profile) -> dict[int, str]:
    reasons: dict[int, str] = {}
    for key, why in (_block(profile).get("not_testable") or {}).items():
        for line in line_numbers(key):
            reasons[line] = str(why)
    return reasons


def seeds_dir() -> Path | None:
    """Where the source documents are: OAUTH2_CONFORMANCE_SEEDS, else ../shared/seeds of the checkout."""
    override = os.environ.get("OAUTH2_CONFORMANCE_SEEDS")
    candidates = [Path(override)] if override else []
    candidates.append(Path(__file__).resolve().parents[3] / "shared" / "seeds")
    return next((c for c in candidates if c.is_dir()), None)


def dialects_dir() -> Path:
    """Documents the project wrote itself from a vendor's public facts (docs/dialects/ of the
    checkout): a dialect with no vendor document to copy, kept beside the code that implements it."""
    return Path(__file__).resolve().parents[2] / "docs" / "dialects"


def document_path(profile: Profile) -> Path | None:
    """The profile's source document: among the seeds, else among the project's own dialect
    documents, else next to its spec (a spec added with --spec may bring its document); None when
    it is not at hand (an installed wheel has neither folder)."""
    folders = [seeds_dir(), dialects_dir(), profile.path.parent]
    return next((f / profile.document for f in folders if f is not None and (f / profile.document).is_file()), None)


def document_lines(profile: Profile) -> list[str]:
    path = document_path(profile)
    return path.read_text(encoding="utf-8").splitlines() if path is not None else []


def matrix(profile: Profile) -> list[TraceRow]:
    """One row per normative or cited line, in document order."""
    covering: dict[int, list[str]] = {}
    for requirement in profile.requirements:
        for line in requirement.lines:
            covering.setdefault(line, []).append(requirement.id)
    normative = set(normative_lines(profile))
    reasons = not_testable(profile)
    text = document_lines(profile)
    rows = []
    for line in sorted(normative | set(covering) | set(reasons)):
        body = text[line - 1].strip() if 0 < line <= len(text) else ""
        rows.append(TraceRow(line, body, line in normative, tuple(covering.get(line, ())), reasons.get(line)))
    return rows


# Words that state a level in the documents: 只能 / 不能 / 必填 / 必须 / 无法 say MUST; advisory wording SHOULD.
MUST_WORDS = ("只能", "不能", "必填", "必须", "无法", "直接返回错误", "是")
SHOULD_WORDS = ("建议", "推荐", "可以", "可使用", "应该", "尽量")


@dataclass(frozen=True)
class LevelRow:
    """Why a requirement has its level: the line it cites, that line's wording, the level chosen."""

    requirement: str
    level: str
    source: str
    line: int | None
    text: str
    wording: str


def wording(text: str) -> str:
    """The level-bearing words of a document line, as `trace` shows them."""
    cells = {cell.strip() for cell in text.split("|")}
    found = [w for w in MUST_WORDS if (w in cells if len(w) == 1 else w in text)]
    if found:
        return f"{' '.join(found)} (MUST wording)"
    advice = [w for w in SHOULD_WORDS if w in text]
    if advice:
        return f"{' '.join(advice)} (advisory wording)"
    if "//" in text:
        return "stated in an example's comment"
    if text.lstrip().startswith(('"', "{")):
        return "an example only"
    return "no modal word (a statement of what the server does)"


def levels(profile: Profile) -> list[LevelRow]:
    """One row per requirement: its cited line, that line's words and the level the spec gives it.
    A requirement citing an RFC instead is RFC-derived (advice on a vendor profile). Where the
    document is not at hand (an installed wheel, a clone without the seeds), the words are the
    requirement's own text, the spec's transcription of its line."""
    text = document_lines(profile)
    rows = []
    for r in profile.requirements:
        line = next((n for n in line_numbers(r.source.rpartition(":")[2]) if ":" in r.source), None)
        body = text[line - 1].strip() if line and 0 < line <= len(text) else ""
        if line is not None and not text:
            body = r.text.strip()
        level = f"{r.level}{', advisory' if r.advisory else ''}"
        if line is None:
            note = "RFC-derived: no document line" + (" (advice)" if r.advisory else " (the document defers to it)")
        else:
            note = wording(body)
        rows.append(LevelRow(r.id, level, r.source, line, body, note))
    return rows


def render(profile: Profile) -> str:
    rows = matrix(profile)
    out = [f"{profile.name}: {profile.document}"]
    for row in rows:
        what = (
            ", ".join(row.requirements)
            if row.requirements
            else (f"not testable: {row.not_testable}" if row.not_testable else "NOT COVERED")
        )
        mark = "*" if row.normative else " "
        out.append(f"{mark}{row.line:>4}  {row.text[:60]:<60}  {what}")
    normative = [r for r in rows if r.normative]
    covered = sum(1 for r in normative if r.requirements)
    untestable = sum(1 for r in normative if not r.requirements and r.not_testable)
    out.append(
        f"normative lines: {len(normative)}; covered {covered}, not testable {untestable}, "
        f"uncovered {len(normative) - covered - untestable}  (* = normative)"
    )
    out.append("levels: requirement, level chosen, the line it cites, that line's wording")
    if not document_lines(profile):
        out.append(f"  ({profile.document} is not at hand: the wording is read from each requirement's text)")
    for level in levels(profile):
        where = f":{level.line}" if level.line else level.source
        quoted = f"  {level.text[:50]!r}" if level.text else ""
        out.append(f"  {level.requirement:<40} {level.level:<17} {where:<16} {level.wording}{quoted}")
    return "\n".join(out)
