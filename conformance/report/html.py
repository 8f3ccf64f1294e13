"""summary.html: one self-contained page (inline CSS, no scripts, no external assets).

Rendered from certification.json and the evidence files only, so `oauth2-conformance report`
can rebuild it from a run directory kept as a CI artefact. Findings (fail, warning, error) show
their masked exchanges and replay script in <details>, collapsed.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from .certification import VERDICTS, Certification, RequirementRecord
from .run_dir import RunDir

FINDINGS = ("fail", "error", "warning")
HEADLINE = {"pass": "certified", "fail": "not certified", "incomplete": "incomplete: not certified"}

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1200px;padding:1.5rem;
color:#1d2330;background:#fff}
h1{font-size:1.6rem;margin:0 0 .4rem}h2{margin-top:2rem;border-bottom:1px solid #d8dde6;padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #d8dde6;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#f2f4f8}td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:.05rem .5rem;border-radius:.7rem;font-weight:600;white-space:nowrap}
.v-pass{background:#d7f5dd;color:#0d5a1e}.v-fail,.v-error{background:#fbd5d5;color:#8a1111}
.v-warning{background:#fdf0c4;color:#6b4c00}.v-not-run,.v-not-applicable,.v-incomplete{background:#e4e7ec;color:#394150}
.headline{font-size:1.2rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:.6rem 0}
dt{font-weight:600}dd{margin:0;word-break:break-all}pre{background:#f6f8fa;border:1px solid #d8dde6;padding:.6rem;
overflow-x:auto;white-space:pre-wrap;word-break:break-all;font-size:12px}
details{margin:.3rem 0}summary{cursor:pointer;font-weight:600}.finding{border-left:4px solid #d8dde6;
padding-left:.8rem;margin:1rem 0}.finding.v-fail,.finding.v-error{border-color:#c62828;background:none}
.finding.v-warning{border-color:#e0a800;background:none}.muted{color:#5b6475}.flag{font-weight:600;color:#8a1111}
table.requirements td:first-child{white-space:nowrap;font-family:ui-monospace,monospace;font-size:12px}
tr[data-verdict=fail] td,tr[data-verdict=error] td{background:#fff6f6}tr[data-verdict=warning] td{background:#fffbea}
"""


def _slug(verdict: str) -> str:
    return verdict.replace(" ", "-")


def badge(verdict: str, label: str | None = None) -> str:
    return f'<span class="badge v-{_slug(verdict)}">{escape(label or verdict)}</span>'


def render(doc: Certification, run_dir: RunDir) -> str:
    title = f"OAuth2 conformance: {HEADLINE.get(doc['verdict'], doc['verdict'])} ({doc['run_id']})"
    parts = [
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>',
        f"<style>{CSS}</style></head><body>",
        "<h1>OAuth2 conformance report</h1>",
        f'<p class="headline" id="overall">Overall: {badge(doc["verdict"], HEADLINE.get(doc["verdict"]))}</p>',
        _run_facts(doc),
        _gate(doc),
        _totals(doc),
        *(_profile_table(doc, p["name"]) for p in doc["profiles"]),
        _findings(doc, run_dir),
        f'<p class="muted">oauth2-conformance {escape(doc["suite"]["version"])}; '
        "secrets, codes and tokens are masked as ‹kind#n›.</p>",
        "</body></html>\n",
    ]
    return "\n".join(parts)


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
            f'<tr data-profile="{escape(p["name"])}"><td><a href="#profile-{escape(p["name"])}">{escape(p["name"])}</a>'
            f"</td><td>{escape(p['document'])}</td><td>{badge(p['verdict'], HEADLINE.get(p['verdict']))}</td>"
            f'{cells}<td class="num">{total}</td></tr>'
        )
    return (
        f'<h2>Totals per profile</h2><table id="totals"><thead><tr><th>profile</th><th>document</th><th>verdict</th>'
        f"{head}<th>total</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _profile_table(doc: Certification, name: str) -> str:
    rows = []
    for r in (r for r in doc["requirements"] if r["profile"] == name):
        level = r["level"] + (" (advisory)" if r["advisory"] else "")
        ident = escape(r["id"])
        link = f'<a href="#finding-{ident}">{ident}</a>' if r["verdict"] in FINDINGS else ident
        baseline = f'<br><span class="muted">baseline: {escape(r["baseline"])}</span>' if r["baseline"] else ""
        rows.append(
            f'<tr data-requirement="{ident}" data-verdict="{escape(r["verdict"])}"><td>{link}</td>'
            f"<td>{escape(level)}</td><td>{escape(r['source'])}</td><td>{badge(r['verdict'])}</td>"
            f"<td>{escape(r['reason'])}{baseline}</td><td>{escape(r['text'])}</td>"
            f'<td class="num">{r["exchanges"]}</td></tr>'
        )
    return (
        f'<h2 id="profile-{escape(name)}">Profile {escape(name)}</h2><table class="requirements">'
        "<thead><tr><th>requirement</th><th>level</th><th>source</th><th>verdict</th><th>reason</th>"
        f"<th>text</th><th>exchanges</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _findings(doc: Certification, run_dir: RunDir) -> str:
    found = [r for r in doc["requirements"] if r["verdict"] in FINDINGS]
    if not found:
        return '<h2>Findings</h2><p id="findings">No failures, errors or warnings.</p>'
    return '<h2>Findings</h2><div id="findings">' + "".join(_finding(r, run_dir) for r in found) + "</div>"


def _finding(r: RequirementRecord, run_dir: RunDir) -> str:
    ident = escape(r["id"])
    parts = [
        f'<section class="finding v-{_slug(r["verdict"])}" id="finding-{ident}">',
        f"<h3>{ident} {badge(r['verdict'])} "
        f"<span class='muted'>{escape(r['level'])}, {escape(r['source'])}</span></h3>",
        f"<p>{escape(r['reason'])}</p>",
    ]
    if r["decided_by"]:
        parts.append(f'<p class="muted">decided by {escape(", ".join(r["decided_by"]))}</p>')
    files = ((f"Exchanges ({r['exchanges']}, secrets masked)", r["evidence"]), ("Reproduce (curl)", r["reproduce"]))
    for label, rel in files:
        if rel:
            body = escape(_read(run_dir, rel))
            parts.append(f"<details><summary>{escape(label)}</summary><pre>{body}</pre></details>")
    parts.append("</section>")
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
