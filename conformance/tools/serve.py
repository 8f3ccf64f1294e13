"""`oauth2-conformance serve`: the reference servers on 127.0.0.1, and everything a config for them needs.

A user who serves a profile and then runs `init` against it is asked for values init cannot know
(the client, its secret, the test user, the redirect URI, the scopes, the profile's fixed params,
a second client). serve prints each of them, the `export` line with the very variables init names,
and the config init would write with those values filled in: saved as a file, it certifies the
profile (tests/test_init_certifies.py).

The ready config is what init writes, not a copy of the reference config: serve runs init's own
probe against the server it just started (anonymous, bounded, on 127.0.0.1), so the two cannot drift.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import yaml

from conformance.engine.reference import start_reference
from conformance.engine.survey import placeholders, quote, render, survey

# The values a config may need, in the order init writes them; printed when the profile's config has them.
VALUE_KEYS = ("client_id", "client_secret", "redirect_uri", "username", "password", "scope")


@dataclass(frozen=True)
class Served:
    """One served profile: where, the values its config needs, and the config init would write."""

    profile: str
    url: str
    reference: Mapping[str, Any]  # the reference server's own config (conformance/servers/registry.py)
    exports: Mapping[str, str]  # each ${VAR} init names -> the value to export
    config: str  # init's config, every ${VAR} filled in

    def lines(self) -> list[str]:
        """The URL, then each value the profile's config holds (only those its flows send), then
        the `export` line for the variables init names."""
        ready = yaml.safe_load(self.config)
        out = [
            f"{self.profile}: {self.url}  (fresh code: GET {self.url}/_test/code; clock: POST {self.url}/_test/clock)"
        ]
        values = [f"{k}={shlex.quote(str(ready[k]))}" for k in VALUE_KEYS if ready.get(k) is not None]
        if values:
            out.append("  values: " + " ".join(values))
        params = ready.get("params") or {}
        if params:
            out.append("  params: " + " ".join(f"{k}={shlex.quote(str(v))}" for k, v in params.items()))
        for name, client in (ready.get("clients") or {}).items():
            described = " ".join(f"{k}={shlex.quote(str(v))}" for k, v in client.items())
            out.append(f"  clients.{name}: {described}")
        if self.exports:
            exported = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.exports.items())
            out.append(f"  export {exported}   # the variables `oauth2-conformance init {self.url}` names")
        return out


def values_for(text: str, reference: Mapping[str, Any]) -> dict[str, str]:
    """Each `${VAR}` of init's config `text` -> the reference config's value at the same key
    (`client_id`, `params.powerCode`, `clients.second.client_id`, ...). A placeholder the reference
    config has no value for is left out (and stays a placeholder)."""
    found: dict[str, str] = {}

    def walk(raw: Any, ref: Any) -> None:
        if not isinstance(raw, dict) or not isinstance(ref, Mapping):
            return
        for key, value in raw.items():
            var = re.fullmatch(r"\$\{(\w+)\}", value) if isinstance(value, str) else None
            if var and ref.get(key) is not None:
                found[var.group(1)] = str(ref[key])
            else:
                walk(value, ref.get(key))

    walk(yaml.safe_load(text), reference)
    return found


def fill(text: str, values: Mapping[str, str]) -> str:
    """`text` with each `${VAR}` in `values` replaced by its value, as a YAML string."""

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        return quote(values[name]) if name in values else match.group(0)

    return re.sub(r"\$\{(\w+)\}", sub, text)


def describe(profile: str, url: str, reference: Mapping[str, Any]) -> Served:
    """Run init's probe against the served profile and fill its config with the reference values."""
    text = render(survey(url, profile))
    exports = {name: value for name, value in values_for(text, reference).items() if name in placeholders(text)}
    ready = fill(text, exports).replace(
        "# Values init cannot know are ${VAR} placeholders: export them, then run",
        "# Filled in by `oauth2-conformance serve` with the reference server's values; run",
    )
    return Served(profile, url, reference, exports, ready)


def main(
    profiles: Sequence[str] | None, port: int, faults: Sequence[str], latency: float = 0.0, out: TextIO | None = None
) -> int:
    """Serve until interrupted, after printing each profile's values and ready config."""
    server, configs = start_reference(profiles, port, faults, latency)
    try:
        served = [describe(name, config["target"], config) for name, config in configs.items()]
        for one in served:
            print("\n".join(one.lines()), file=out)
        for one in served:
            print(
                f"# ---- {one.profile}.yaml: a ready target config (save it, then: pytest --target-config=FILE)",
                file=out,
            )
            print(one.config.rstrip("\n"), file=out)
            print(f"# ---- end of {one.profile}.yaml", file=out)
        print("Ctrl-C to stop.", file=out, flush=True)
        while True:
            time.sleep(3600)
    finally:
        server.stop()
