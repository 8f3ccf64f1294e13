"""summary.html: one self-contained page for looking, not reading (inline CSS and script, no
external asset, works offline).

Rendered from certification.json and the evidence files only, so `oauth2-conformance report`
can rebuild it from a run directory kept as a CI artefact. On top: the verdict, why requirements
did not run (grouped by reason, with what to set), the CI gate and the totals. Then one table of
every requirement, findings first, filtered by verdict, level and profile and searched by ID or
text (assets.py). A finding's masked exchanges and curl reproduction expand in place. Last, per
profile, the traceability matrix (conformance/trace.py), collapsed: each normative line of the
document with the requirements that decide it, or why it cannot be tested. It comes from the specs
(the profiles named in certification.json), with the document's text when the documents are at hand.
"""

from __future__ import annotations

import html as html_module
from pathlib import Path
from typing import Any

from conformance.model.errors import SpecError
from conformance.model.sanitize import visible
from conformance.model.spec import Profile, load_profiles
from conformance.report import reasons
from conformance.report.assets import CSP_META, CSP_META_NO_SCRIPT, CSS, JS
from conformance.report.certification import VERDICTS, Certification, RequirementRecord
from conformance.report.run_dir import RunDir
from conformance.report.trace import TraceRow, matrix

FINDINGS = ("fail", "error", "warning")
ORDER = ("fail", "error", "warning", "not run", "not applicable", "pass")  # findings first
LEVELS = ("MUST", "SHOULD", "MAY")
HEADLINE = {"pass": "certified", "fail": "not certified", "incomplete": "incomplete: not certified"}


def escape(text: str, quote: bool = True) -> str:
    """HTML's sanitizer: controls, bidi overrides and lone surrogates shown as escapes (`visible`),
    then HTML-escaped, so nothing the target sent is markup, nor breaks the UTF-8 file."""
    return html_module.escape(visible(str(text)), quote=quote)


def _slug(verdict: str) -> str:
    return verdict.replace(" ", "-")


def badge(verdict: str, label: str | None = None) -> str:
    return f'<span class="badge v-{_slug(verdict)}">{escape(label or verdict)}</span>'


def render(doc: Certification, run_dir: RunDir) -> str:
    title = f"OAuth2 conformance: {HEADLINE.get(doc['verdict'], doc['verdict'])} ({doc['run_id']})"
    parts = [
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">{CSP_META}<title>{escape(title)}</title>',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<style>{CSS}</style></head><body>",
        "<h1>OAuth2 conformance report</h1>",
        f'<p class="headline" id="overall">Overall: {badge(doc["verdict"], HEADLINE.get(doc["verdict"]))}</p>',
        _totals(doc),
        _reasons(doc),
        _gate(doc),
        _requirements(doc, run_dir),
        _traceability(doc),
        f"<details><summary>Run</summary>{_run_facts(doc)}</details>",
        f'<p class="muted">oauth2-conformance {escape(doc["suite"]["version"])}; '
        "secrets, codes and tokens are masked as ‹kind#n›.</p>",
        f"<script>{JS}</script>",
        "</body></html>\n",
    ]
    return "\n".join(parts)


def _reasons(doc: Certification) -> str:
    """Why requirements did not run, grouped by reason, with the key or option that would run them."""
    groups = reasons.group(doc["requirements"])
    if not groups:
        return ""
    rows = []
    for g in groups:
        ids = ", ".join(f'<a class="id" href="#verdict=all&amp;q={escape(i)}">{escape(i)}</a>' for i in g.ids)
        fix = f"<code>{escape(g.hint)}</code>" if g.hint else '<span class="muted">—</span>'
        rows.append(
            f'<tr data-reason-verdict="{escape(g.verdict)}"><td class="num">{g.count}</td><td>{badge(g.verdict)}</td>'
            f"<td>{escape(g.reason)}</td><td>{fix}</td><td>{ids}</td></tr>"
        )
    return (
        '<h2>Why requirements did not run</h2><table class="reasons" id="reasons"><thead><tr><th>count</th>'
        "<th>verdict</th><th>reason</th><th>to run them, set</th><th>requirements</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _run_facts(doc: Certification) -> str:
    facts = {
        "run": doc["run_id"],
        "target": doc["target"],
        "started": doc["started"],
        "finished": doc["finished"],
        "suite version": doc["suite"]["version"],
        "hypothesis seed": "" if doc["seed"] is None else str(doc["seed"]),
        "strict levels": "yes" if doc["strict_levels"] else "no (SHOULD violations are warnings)",
        "command": " ".join(doc["command"]),
    }
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts.items())
    return f'<dl id="run">{rows}</dl>'


def _gate(doc: Certification) -> str:
    gate = doc["gate"]
    state = "pass" if gate["passed"] else "fail"
    lines = [
        f'<h2>CI gate</h2><p id="gate">{badge(state, "passed" if gate["passed"] else "failed")} exit status '
        f"{gate['exit_status']}</p><ul>"
    ]
    labels = {
        "failures": "failed (not in the baseline)",
        "must_not_run": "MUST requirements selected but not run",
        "expected": "expected failures (baseline)",
        "stale": "STALE baseline entries: they pass now, remove them",
        "never_ran": "baseline entries that never ran",
    }
    for key, label in labels.items():
        ids = gate.get(key) or []
        if ids:
            flag = ' class="flag"' if key in {"stale", "never_ran", "failures", "must_not_run"} else ""
            lines.append(f"<li{flag}>{escape(label)}: {escape(', '.join(ids))}</li>")
    lines.append("</ul>")
    return "".join(lines)


def _totals(doc: Certification) -> str:
    head = "".join(f"<th>{escape(v)}</th>" for v in VERDICTS)
    rows = []
    for p in doc["profiles"]:
        cells = "".join(f'<td class="num">{p["totals"].get(v, 0)}</td>' for v in VERDICTS)
        total = sum(p["totals"].values())
        rows.append(
            f'<tr data-profile="{escape(p["name"])}"><td><a href="#verdict=all&amp;profile={escape(p["name"])}">'
            f"{escape(p['name'])}</a></td><td>{escape(p['document'])}</td>"
            f"<td>{badge(p['verdict'], HEADLINE.get(p['verdict']))}</td>"
            f'{cells}<td class="num">{total}</td></tr>'
        )
    return (
        f'<h2>Totals per profile</h2><table id="totals"><thead><tr><th>profile</th><th>document</th><th>verdict</th>'
        f"{head}<th>total</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _filters(doc: Certification) -> str:
    counts = {v: 0 for v in ORDER}
    for r in doc["requirements"]:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    chips = "".join(
        f'<label class="chip"><input type="checkbox" name="verdict" value="{escape(v)}" checked> '
        f"{badge(v)} {counts[v]}</label>"
        for v in ORDER
        if counts[v] or v in FINDINGS
    )
    levels = "".join(f'<option value="{v}">{v}</option>' for v in LEVELS)
    profiles = "".join(f'<option value="{escape(p["name"])}">{escape(p["name"])}</option>' for p in doc["profiles"])
    return (
        f'<div id="filters" role="search">{chips}'
        f'<label>level <select id="f-level"><option value="">any</option>{levels}</select></label>'
        f'<label>profile <select id="f-profile"><option value="">any</option>{profiles}</select></label>'
        '<input type="search" id="f-q" placeholder="search ID or text" aria-label="search ID or text">'
        '<span id="shown"></span></div>'
    )


def _requirements(doc: Certification, run_dir: RunDir) -> str:
    """Every requirement in one table, findings first, each finding's evidence in place."""
    rank = {v: n for n, v in enumerate(ORDER)}
    ordered = sorted(doc["requirements"], key=lambda r: rank.get(r["verdict"], len(ORDER)))
    rows = [_row(r, run_dir) for r in ordered]
    return (
        f"<h2>Requirements</h2>{_filters(doc)}"
        '<table class="requirements" id="requirements"><colgroup><col class="c-id"><col class="c-profile">'
        '<col class="c-level"><col class="c-verdict"><col class="c-reason"><col class="c-text"><col class="c-source">'
        '<col class="c-num"></colgroup><thead><tr><th>requirement</th><th>profile</th>'
        "<th>level</th><th>verdict</th><th>reason and evidence</th><th>text</th><th>source</th>"
        f"<th>exch.</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _row(r: RequirementRecord, run_dir: RunDir) -> str:
    ident = escape(r["id"])
    level = r["level"] + (" (advisory)" if r["advisory"] else "")
    search = " ".join((r["id"], r["text"], r["reason"], r["source"], r["profile"])).lower()
    baseline = f'<br><span class="muted">baseline: {escape(r["baseline"])}</span>' if r["baseline"] else ""
    evidence = _evidence(r, run_dir) if r["verdict"] in FINDINGS else ""
    return (
        f'<tr data-requirement="{ident}" data-verdict="{escape(r["verdict"])}" data-level="{escape(r["level"])}" '
        f'data-profile="{escape(r["profile"])}" data-search="{escape(search)}" id="req-{ident}">'
        f'<td class="id">{ident}</td><td>{escape(r["profile"])}</td><td>{escape(level)}</td>'
        f"<td>{badge(r['verdict'])}</td><td>{escape(r['reason'])}{baseline}{evidence}</td>"
        f"<td>{escape(r['text'])}</td><td>{escape(r['source'])}</td>"
        f'<td class="num">{r["exchanges"]}</td></tr>'
    )


def _evidence(r: RequirementRecord, run_dir: RunDir) -> str:
    """A finding's masked exchanges and curl reproduction, collapsed, in place."""
    parts = []
    if r["decided_by"]:
        parts.append(f'<div class="muted">decided by {escape(", ".join(r["decided_by"]))}</div>')
    files = ((f"Exchanges ({r['exchanges']}, secrets masked)", r["evidence"]), ("Reproduce (curl)", r["reproduce"]))
    for label, rel in files:
        if rel:
            body = escape(_read(run_dir, rel))
            parts.append(f"<details><summary>{escape(label)}</summary><pre>{body}</pre></details>")
    return "".join(parts)


def _read(run_dir: RunDir, relative: str) -> str:
    """An evidence file of the run; never a path outside the run directory."""
    root = run_dir.path.resolve()
    path = (root / relative).resolve()
    if root not in path.parents:
        return f"(evidence path {relative} is outside the run directory)"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return f"(evidence file {relative} is missing)"


def write(doc: Certification, run_dir: RunDir) -> Path:
    run_dir.summary.write_text(render(doc, run_dir), encoding="utf-8")
    return run_dir.summary


GAP = "not yet checked"  # a not_testable reason that is a gap: testable, but no requirement decides it yet


def _spec_profiles(names: list[str]) -> dict[str, Profile]:
    """The specs of the run's profiles, by name; a profile whose spec is not at hand has no matrix."""
    try:
        known = load_profiles()
    except SpecError:
        return {}
    return {name: known[name] for name in names if name in known}


def trace_counts(rows: list[TraceRow]) -> dict[str, int]:
    """Normative lines, and how many are covered, not testable, not yet checked (a gap) or uncovered."""
    normative = [r for r in rows if r.normative]
    gaps = sum(1 for r in normative if not r.requirements and (r.not_testable or "").startswith(GAP))
    covered = sum(1 for r in normative if r.requirements)
    untestable = sum(1 for r in normative if not r.requirements and r.not_testable) - gaps
    return {
        "normative": len(normative),
        "covered": covered,
        "not testable": untestable,
        GAP: gaps,
        "uncovered": len(normative) - covered - untestable - gaps,
    }


def _traceability(doc: Certification) -> str:
    """Per profile, a collapsed matrix: each normative line, its requirement IDs (with this run's
    verdicts) or the reason it cannot be tested."""
    verdicts = {(r["profile"], r["id"]): r["verdict"] for r in doc["requirements"]}
    specs = _spec_profiles([p["name"] for p in doc["profiles"]])
    sections = []
    for name, profile in specs.items():
        rows = [r for r in matrix(profile) if r.normative]
        if not rows:
            continue
        counts = trace_counts(rows)
        summary = (
            f"Traceability: {counts['normative']} normative lines, covered {counts['covered']}, "
            f"not testable {counts['not testable']}"
        )
        summary += "".join(f", {key} {counts[key]}" for key in (GAP, "uncovered") if counts[key])
        with_text = any(r.text for r in rows)
        head = "<th>line</th>" + ("<th>document</th>" if with_text else "") + "<th>requirements, or why not</th>"
        body = "".join(_trace_row(name, r, with_text, verdicts) for r in rows)
        sections.append(
            f'<details class="trace" id="trace-{escape(name)}"><summary>{escape(name)} '
            f"({escape(profile.document)}): {escape(summary)}</summary>"
            f'<table class="trace"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></details>'
        )
    if not sections:
        return ""
    return (
        '<h2>Traceability</h2><p class="muted">Each normative line of the document, and the requirements that '
        "decide it (with this run's verdict) or why it cannot be tested.</p>" + "".join(sections)
    )


def _trace_row(profile: str, row: TraceRow, with_text: bool, verdicts: dict[tuple[str, str], str]) -> str:
    if row.requirements:
        links = []
        for rid in row.requirements:
            verdict = verdicts.get((profile, rid))
            mark = f'<span class="badge v-{_slug(verdict)}">{escape(verdict)}</span>' if verdict else ""
            links.append(f'<a class="id" href="#verdict=all&amp;q={escape(rid)}">{escape(rid)}</a>{mark}')
        what, status = " ".join(links), "covered"
    elif row.not_testable:
        gap = row.not_testable.startswith(GAP)
        what = escape(row.not_testable if gap else f"not testable: {row.not_testable}")
        status = "gap" if gap else "not-testable"
    else:
        what, status = "NOT COVERED", "uncovered"
    text = f"<td>{escape(row.text)}</td>" if with_text else ""
    return f'<tr data-line="{row.line}" data-trace="{status}"><td class="num">{row.line}</td>{text}<td>{what}</td></tr>'


def render_index(index: dict[str, Any]) -> str:
    """index.html of a run with several targets: each target's verdict, linked to its own report."""
    rows = []
    for t in index["targets"]:
        totals = ", ".join(f"{n} {v}" for v, n in t["totals"].items() if n)
        gate = badge("pass" if t["gate_passed"] else "fail", "passed" if t["gate_passed"] else "failed")
        rows.append(
            f'<tr data-target="{escape(t["name"])}"><td><a href="{escape(t["summary"])}">{escape(t["name"])}</a></td>'
            f"<td>{escape(t['target'])}</td><td>{escape(', '.join(t['profiles']))}</td>"
            f"<td>{badge(t['verdict'], HEADLINE.get(t['verdict']))}</td><td>{gate}</td><td>{escape(totals)}</td>"
            f'<td><a href="{escape(t["report"])}">certification.json</a></td></tr>'
        )
    title = f"OAuth2 conformance: {len(index['targets'])} targets ({index['run_id']})"
    outputs = ", ".join(f'<a href="{escape(v)}">{escape(v)}</a>' for v in index["outputs"].values() if v)
    return "\n".join(
        [
            f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">{CSP_META_NO_SCRIPT}'
            f"<title>{escape(title)}</title>",
            '<meta name="viewport" content="width=device-width,initial-scale=1">',
            f"<style>{CSS}</style></head><body>",
            f"<h1>OAuth2 conformance: {len(index['targets'])} targets</h1>",
            f'<p class="headline" id="overall">Overall: {badge(index["verdict"], HEADLINE.get(index["verdict"]))}</p>',
            '<table id="targets"><thead><tr><th>target</th><th>URL</th><th>profiles</th><th>verdict</th>'
            f"<th>CI gate</th><th>totals</th><th>report</th></tr></thead><tbody>{''.join(rows)}</tbody></table>",
            f'<p class="muted">run {escape(index["run_id"])}; hypothesis seed {escape(str(index["seed"]))}; '
            f"for the whole run: {outputs or 'no JUnit or Allure output'}</p>",
            "</body></html>\n",
        ]
    )
