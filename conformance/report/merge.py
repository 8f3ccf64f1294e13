"""`oauth2-conformance report merge DIR... --output DIR`: the shards of one run, joined into one report.

Each shard (`--shard K/N`) collected the whole run and decided its share; a requirement decided
elsewhere is in its report as `not run`, deselected. The merged record of a requirement is the one
from the shard that selected it, so the merged certification.json holds the same verdicts as one
run on one machine would. The profiles' outcomes, the totals and the gate are then computed again
from the merged records, through the same functions a single run uses (`engine.verdicts`,
`report.gate`), never copied from a shard. A run with several targets merges target by target,
and gets its index.json and index.html again.

Shards that do not belong together (other targets, other specs, other requirement lists) are
refused with one line, and so is an output directory that already holds a run.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance.engine.verdicts import certification, worst
from conformance.model.errors import ConfigError
from conformance.report import certification as cert
from conformance.report import html
from conformance.report.baseline import Baseline
from conformance.report.certification import Certification, ProfileRecord, RequirementRecord
from conformance.report.gate import evaluate
from conformance.report.index import INDEX, outcome, target_entry
from conformance.report.run_dir import RunDir


def merge(shards: Sequence[str | Path], output: str | Path) -> tuple[Path, bool]:
    """Merge the run directories `shards` into `output`; returns it and whether its gate passed."""
    if len(shards) < 2:
        raise ConfigError("report merge needs at least two run directories (the shards of one run)")
    out = Path(output)
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} already holds files; merge into a new directory")
    parts = [_parts(Path(shard)) for shard in shards]
    names = sorted(parts[0])
    if any(sorted(p) != names for p in parts[1:]):
        raise ConfigError("these run directories are not shards of one run: they hold different targets")
    merged = {name: _merge_target([p[name] for p in parts], out / name if name else out) for name in names}
    fleet = names != [""]
    if fleet:
        index = _index(merged, parts, out.name)
        cert.dump(index, out / INDEX)  # type: ignore[arg-type]
        (out / "index.html").write_text(html.render_index(index), encoding="utf-8")
    passed = all(doc["gate"]["passed"] for doc in merged.values())
    return out, passed


def _parts(path: Path) -> dict[str, Path]:
    """The run directory of each target in a shard's directory ("" for a single-target run)."""
    if (path / INDEX).is_file():
        index = cert.load_json(path / INDEX)
        return {str(t["name"]): path / str(t["name"]) for t in index.get("targets", [])}
    return {"": RunDir.locate(path).path}


def _merge_target(folders: list[Path], out: Path) -> Certification:
    docs = [cert.load(RunDir(folder).certification) for folder in folders]
    first = docs[0]
    ids = [r["id"] for r in first["requirements"]]
    for doc in docs[1:]:
        if doc["target"] != first["target"] or [r["id"] for r in doc["requirements"]] != ids:
            raise ConfigError(
                f"{folders[docs.index(doc)]} is not a shard of the run in {folders[0]}: "
                "its target or its requirements differ"
            )
        if [p["spec_sha256"] for p in doc["profiles"]] != [p["spec_sha256"] for p in first["profiles"]]:
            raise ConfigError(f"{folders[docs.index(doc)]} ran other specs than {folders[0]}: re-run the shards")
    out.mkdir(parents=True, exist_ok=True)
    records: list[RequirementRecord] = []
    for position in range(len(ids)):
        candidates = [(doc["requirements"][position], folder) for doc, folder in zip(docs, folders, strict=True)]
        record, folder = next(((r, f) for r, f in candidates if r["selected"]), candidates[0])
        for relative in (record["evidence"], record["reproduce"]):
            if relative:
                _copy(folder, out, relative)
        records.append(record)
    profiles: list[ProfileRecord] = []
    for profile in first["profiles"]:
        own = [r for r in records if r["profile"] == profile["name"]]
        outcome = certification(r["verdict"] for r in own if r["blocking"])
        profiles.append(
            {  # a shard's profile record, its outcome computed again
                **profile,
                "verdict": str(outcome),
                "certified": outcome == "pass",
                "totals": cert.totals(own),
                "blocking": [r["id"] for r in own if r["blocking"]],
            }
        )
    baseline = Baseline(
        str((first.get("baseline") or {}).get("path", "")), {r["id"]: r["baseline"] for r in records if r["baseline"]}
    )
    gate = evaluate(records, baseline, certify=bool(first["gate"].get("certify")))
    verdict = worst(p["verdict"] for p in profiles)
    merged: Certification = {
        **first,
        "run_id": out.name,
        "started": min(d["started"] for d in docs),
        "finished": max(d["finished"] for d in docs),
        "command": [arg for d in docs for arg in ("#", *d["command"])][1:],
        "outputs": {"junit": None, "allure": None},
        "profiles": profiles,
        "requirements": records,
        "gate": gate.to_json(0 if gate.passed else 1),
        "verdict": str(verdict),
        "certified": verdict == "pass",
    }
    cert.dump(merged, RunDir(out).certification)
    html.write(merged, RunDir(out))
    return merged


def _copy(source: Path, target: Path, relative: str) -> None:
    """One evidence file, kept inside both directories (a shard's report names it relatively)."""
    origin = (source / relative).resolve()
    if not origin.is_relative_to(source.resolve()) or not origin.is_file():
        return
    destination = target / relative
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(origin, destination)


def _index(merged: dict[str, Certification], parts: list[dict[str, Path]], run_id: str) -> dict[str, Any]:
    """index.json of the merged run: each target's outcome, as a run with several targets writes it."""
    first = cert.load_json(next(iter(parts[0].values())).parent / INDEX)
    targets = [target_entry(name, doc, doc["gate"]["passed"]) for name, doc in merged.items()]
    return {
        **first,
        "run_id": run_id,
        "outputs": {"junit": None, "allure": None},
        **outcome(targets),
    }
