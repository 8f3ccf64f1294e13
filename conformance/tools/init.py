"""`oauth2-conformance init URL`: probe a target and write a commented target config for it.

What it probes and writes is conformance/engine/survey.py's, the same survey a run given only
`--target=URL` makes in memory; init saves it, says why it chose the profile, and prints the
variables to export.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from conformance.engine.survey import authorize_note, placeholders, render, survey, why
from conformance.model.errors import ConfigError
from conformance.model.sanitize import one_line, visible


def main(
    url: str,
    profile: str | None,
    output: str | None,
    given: Mapping[str, str],
    tls: Mapping[str, Any],
    force: bool = False,
    out: TextIO | None = None,
    specs: Sequence[str] = (),
) -> int:
    out = out or sys.stdout
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{url!r} is not an http(s) URL")
    s = survey(url, profile, given, specs, **tls)
    path = Path(output or f"{s.profile.name}.yaml")
    if path.exists() and not force:
        raise ConfigError(f"{path} exists; pass --force to overwrite it or --output to write elsewhere")
    text = visible(render(s, given, tls))  # what the target sent (paths, form names) stays inert in the file
    path.write_text(text, encoding="utf-8")
    print(f"profile: {s.profile.name} ({why(s, given=profile is not None)})", file=out)
    print(f"authorization endpoint: {one_line(authorize_note(s))}", file=out)
    print(f"wrote {path} ({s.requests} requests)", file=out)
    names = placeholders(text)
    if names:
        print("export before running: " + " ".join(names), file=out)
    print(f"then: pytest --target-config={path}", file=out)
    return 0
