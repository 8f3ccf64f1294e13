"""Many targets in one run: `--target-config` given several times, or a folder of configs.

Each target is named after its config file's stem (`configs/staging-eu.yaml` is `staging-eu`) and
gets its own `Run` and `Runtime`: its sessions, budget, verdicts and masker, so one customer's
report never shows another target's secrets. Its node IDs read `staging-eu/yixin::YX-...` and its
report goes to `reports/<run-id>/staging-eu/`, next to `index.json` and `index.html`.

One config (or none: the embedded reference servers) is today's run, unchanged: node IDs
`yixin::YX-...` and `reports/<run-id>/certification.json`.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from conformance.engine.runtime import Run
from conformance.model.errors import ConfigError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")  # it names a report directory


def config_files(given: Sequence[str] | None) -> list[Path]:
    """The config files named on the command line, a folder standing for its `*.yaml` files."""
    files: list[Path] = []
    for entry in given or ():
        path = Path(entry)
        if path.is_dir():
            found = sorted(p for p in path.glob("*.yaml") if p.is_file())
            if not found:
                raise ConfigError(f"--target-config {entry}: the folder holds no *.yaml target config")
            files.extend(found)
        else:
            files.append(path)  # config.load says so if it does not exist
    return files


def plan(
    target: str | None,
    profiles: list[str] | None,
    configs: Sequence[str] | None,
    strict: bool = False,
    examples: str | None = None,
    seed: int | None = None,
    faults: Sequence[str] = (),
    certify: bool = False,
    detected: Mapping[str, str] | None = None,
    specs: Sequence[str] = (),
    surveyed: Mapping[str, str] | None = None,
) -> list[Run]:
    """One Run per target, each validated completely; a problem with any of them is one ConfigError.
    `detected`: target URL -> profile already detected (by a pytest-xdist controller); `surveyed`:
    target URL -> the config it derived for a target given by URL alone."""
    files = config_files(configs)
    if len(files) <= 1:
        single = str(files[0]) if files else None
        return [
            Run.from_options(
                target, profiles, single, strict, examples, seed, faults, certify, detected, specs, surveyed
            )
        ]
    seen: dict[str, Path] = {}
    for file in files:
        if file.stem in seen:
            raise ConfigError(
                f"--target-config: {seen[file.stem]} and {file} would both be target {file.stem!r}; "
                "each target is named after its file, so rename one"
            )
        if not _NAME.match(file.stem):
            raise ConfigError(f"--target-config {file}: name the file with letters, digits, '.', '_' and '-'")
        seen[file.stem] = file
    if target is not None:
        raise ConfigError("--target with several target configs: give each config its own `target: URL`")
    if faults:
        raise ConfigError("--reference-fault switches the embedded reference servers; drop it with several targets")
    run_seed = seed if seed is not None else random.getrandbits(32)  # one seed for the whole run
    runs = []
    for file in files:
        run = Run.from_options(None, profiles, str(file), strict, examples, run_seed, (), certify, detected, specs)
        if run.target is None:
            raise ConfigError(f"target config {file} has no `target: URL`; with several targets each needs one")
        runs.append(dataclasses.replace(run, name=file.stem))
    return runs
