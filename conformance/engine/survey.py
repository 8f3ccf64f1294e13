"""What the suite learns of a target given by URL alone, and the target config that says it.

`oauth2-conformance init URL` writes this config to a file; `pytest --target=URL` without a
config file builds the same config in memory, its `${VAR}`s taken from the environment (an unset
one leaves its key out, and the requirements that need it are `not run` naming it). So the two can
never disagree on what a target offers.

It names the profile whose documented paths answer (or checks the one given), and writes what it
found: metadata endpoints, the client authentication on offer, where codes come from (a code
route, the authorization endpoint auto-approving, or a login page: then a `login` skeleton) and a
clock route. Every value a probe cannot know is a `${VAR}` placeholder. It knows no vendor: all it
probes comes from the specs (see conformance/target/detect.py and conformance/target/probe.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from conformance.engine.plan import traits_of
from conformance.model.config import KNOWN_KEYS
from conformance.model.errors import ConfigError
from conformance.model.roles import CONFIG_ROLES
from conformance.model.spec import Profile, load_profiles
from conformance.target import detect, probe
from conformance.target.discovery import metadata_candidates
from conformance.target.login import Form

AUTH_METHODS = {"client_secret_basic": "basic", "client_secret_post": "post"}
WHAT = {
    "client_id": "the client's ID, as registered at the target",
    "client_secret": "the client's secret",
    "redirect_uri": "a redirect URI registered for that client",
    "username": "a test user the flows sign in as",
    "password": "that user's password",
    "scope": "space-separated; at least two scopes the client may get (the scope rules need two)",
}


@dataclass(frozen=True)
class Survey:
    """Everything init learnt about one target."""

    url: str
    profile: Profile
    matches: tuple[probe.ProfileMatch, ...]  # every profile whose paths answer, best first
    metadata_url: str | None
    metadata: Mapping[str, Any]
    authorize: probe.AuthorizeProbe | None
    hooks: Mapping[str, str]
    requests: int
    detection: detect.Detection  # how the profile was scored (the run prints it when none was named)


def survey(
    url: str,
    profile_name: str | None = None,
    given: Mapping[str, str] | None = None,
    specs: Sequence[str] = (),
    **options: Any,
) -> Survey:
    """Probe the target; `options` go to the Prober (verify, max_requests, deadline, transport).

    The profile is scored as the run scores it without `--profile` (conformance/target/detect.py):
    no match, or a tie, is a one-line error naming the candidates."""
    profiles = load_profiles(specs)
    if profile_name is not None and profile_name not in profiles:
        raise ConfigError(f"unknown profile {profile_name!r}; known profiles: {', '.join(profiles)}")
    prober = detect.Prober(**options)
    try:
        found = detect.survey(prober, url, profiles.values())
        profile = profiles[profile_name or found.chosen().name]
        authorize = probe.probe_authorize(prober, url, profile, found.metadata, given or {})
        # A profile with an authorization endpoint gets its codes there, as from a real server.
        keys = [k for k in probe.TEST_HOOKS if k != "code_url" or probe.authorize_flow(profile) is None]
        hooks = probe.probe_hooks(prober, url, [k for k in keys if k in KNOWN_KEYS])
        return Survey(
            url, profile, found.ranked, found.metadata_url, found.metadata, authorize, hooks, prober.sent, found
        )
    finally:
        prober.close()


def quote(value: str) -> str:
    """A YAML scalar, double-quoted (JSON strings are YAML)."""
    return json.dumps(value, ensure_ascii=False)


def _var(profile: str, key: str) -> str:
    return "${" + re.sub(r"[^A-Z0-9]+", "_", f"{profile}_{key}".upper()) + "}"


def roles(profile: Profile) -> tuple[set[str], list[str]]:
    """The config roles and the fixed `params` the profile's flows send."""
    found: set[str] = set()
    params: list[str] = []
    for flow in profile.flows.values():
        for name, param in flow.operation.params.items():  # the operation's, so the checks' extras too
            role = param.role
            if role == "param" and name not in params:
                params.append(name)
            elif role in CONFIG_ROLES:
                found.add(str(role))
    return found, params


def render(s: Survey, given: Mapping[str, str] | None = None, tls: Mapping[str, Any] | None = None) -> str:
    """The commented YAML target config."""
    given, tls = given or {}, tls or {}
    p = s.profile
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ")
    out = [
        f"# oauth2-conformance target config, written by `oauth2-conformance init` ({when}).",
        f"# What init saw at {s.url} ({s.requests} anonymous requests):",
    ]
    mine = next((m for m in s.matches if m.name == p.name), None)
    if mine is not None:
        out.append(f"#   profile {p.name}: {mine.answered} of {len(mine.probes)} documented operations answer")
        out += [f"#     {probe_.describe()}" for probe_ in mine.probes]
    else:
        out.append(f"#   profile {p.name} (given with --profile): none of its documented paths answer")
    others = [f"{m.name} ({m.answered} of {len(m.probes)})" for m in s.matches if m.name != p.name]
    if others:
        out.append(f"#   other profiles with answering paths: {', '.join(others)}")
    out.append(f"#   metadata (RFC 8414 / OpenID): {s.metadata_url or 'none found'}")
    out.append(f"#   authorization endpoint: {authorize_note(s)}")
    out += [
        "# Values init cannot know are ${VAR} placeholders: export them, then run",
        "#   pytest --target-config=THIS_FILE",
    ]
    out += ["", f"target: {quote(s.url)}", f"profile: {p.name}"]
    needed, params = roles(p)
    login = s.authorize.login_form if s.authorize else None
    if login is not None:
        needed |= {"username", "password"}
    scopes = s.metadata.get("scopes_supported")
    for key in CONFIG_ROLES:
        if key not in needed:
            continue
        if key in given:
            out.append(f"{key}: {quote(given[key])}")
        elif key == "scope" and isinstance(scopes, list) and scopes:
            listed = quote(" ".join(map(str, scopes)))
            out.append(f"scope: {listed}   # the metadata's scopes_supported; trim to the client's")
        else:
            out.append(f"{key}: {_var(p.name, key)}   # {WHAT[key]}")
    if params:
        out.append("params:   # fixed profile parameters the document defines")
        out += [f"  {name}: {_var(p.name, name)}" for name in params]
    out += _second_client_lines(p)
    out += _auth_lines(s)
    out += _endpoint_lines(s)
    out += _code_lines(s)
    if tls.get("verify") is False:
        out.append("insecure: true   # TLS verification off: every run warns about it")
    elif tls.get("verify") not in (None, True):
        out.append(f"ca_bundle: {quote(str(tls['verify']))}")
    out += [
        "# Politeness towards a shared server (defaults: 20000 requests, no rate limit):",
        "# max_requests: 5000",
        "# rate: 20   # requests per second",
    ]
    return "\n".join(out) + "\n"


def why(s: Survey, *, given: bool) -> str:
    """Why init wrote this profile: its score and the runners-up' (as the run prints them)."""
    mine = next((m for m in s.matches if m.name == s.profile.name), None)
    score = mine.describe().removeprefix(f"{s.profile.name} ") if mine else "none of its documented paths answer"
    others = ", ".join(m.describe() for m in s.matches if m.name != s.profile.name) or "none"
    return f"{'given with --profile; ' if given else ''}{score.strip('()')}; runners-up: {others}"


def authorize_note(s: Survey) -> str:
    a = s.authorize
    if a is None:
        return "the profile has none (its codes come from outside HTTP)"
    notes = {
        "auto-approves": "auto-approves (a code comes back in the redirect)",
        "login page": "shows a login page (a `login` skeleton is below)",
        "page with a form": "shows a page with a form but no password field",
        "redirects an error": "redirected an error to the client",
        "error": "answered an error",
        "no answer": "did not answer",
    }
    tail = (
        ""
        if a.outcome in {"auto-approves", "login page"}
        else "; rerun with --client-id and --redirect-uri to tell more"
    )
    return f"{notes.get(a.outcome, a.outcome)}: {a.detail}{tail}"


def _second_client_lines(profile: Profile) -> list[str]:
    if not any(traits_of(r).needs_second_client for r in profile.requirements):
        return []
    return [
        "clients:   # a second registered client, for checks that codes and tokens are bound to their client",
        "           # (remove it if you have one client: those requirements are then not run)",
        "  second:",
        f"    client_id: {_var(profile.name, 'second_client_id')}",
        f"    client_secret: {_var(profile.name, 'second_client_secret')}",
    ]


def _auth_lines(s: Survey) -> list[str]:
    offered = s.metadata.get("token_endpoint_auth_methods_supported")
    if not isinstance(offered, list):
        return []
    ours = [AUTH_METHODS[m] for m in offered if m in AUTH_METHODS]
    line = f"# the token endpoint offers {', '.join(map(str, offered))}"
    if s.profile.client_auth in ours or not ours:
        return [f"{line}; the profile's {s.profile.client_auth} is used", f"# client_auth: {s.profile.client_auth}"]
    return [line, f"client_auth: {ours[0]}"]


def _endpoint_lines(s: Survey) -> list[str]:
    if not s.metadata_url:
        return []
    if s.metadata_url in metadata_candidates(s.url, s.profile.discovery):
        return ["# endpoints: read from the metadata at run time"]
    names = [op.endpoint for op in probe.documented_operations(s.profile) if op.endpoint in s.metadata]
    if not names:
        return []
    out = ["endpoints:   # from the metadata init found (the suite looks for it under the target URL only)"]
    return out + [f"  {name}: {quote(str(s.metadata[name]))}" for name in dict.fromkeys(names) if name]


def _code_lines(s: Survey) -> list[str]:
    out = []
    for key, url in s.hooks.items():
        value = f"{{url: {quote(url)}}}" if key == "token_probe" else quote(url)
        out.append(f"{key}: {value}   # a test-only route of the target")
    a = s.authorize
    if "code_url" not in s.hooks:
        if a is None:
            out += [
                "# This profile's codes come from outside HTTP (an SDK, a desktop client). Name a command that",
                "# prints one fresh code; the tests that need codes are not run until you do:",
                '# code_command: "./fresh-code.sh"',
            ]
        elif a.outcome not in {"auto-approves", "login page"}:
            out += [
                "# If the authorization endpoint does not auto-approve for your client, add `login` steps or:",
                '# code_command: "./fresh-code.sh"',
            ]
    if a is not None and a.login_form is not None:
        out += _login_lines(a.login_form)
    if "clock_url" not in s.hooks and s.profile.lifetimes:
        longest = max(float(v.get("seconds", 0)) for v in s.profile.lifetimes.values())
        out += [
            f"# Lifetimes up to {longest:g} s are documented; the suite waits out at most max_wait seconds:",
            "# max_wait: 10",
        ]
    return out


def _login_lines(form: Form) -> list[str]:
    fields = {}
    if form.user_field:
        fields[form.user_field] = "{username}"
    if form.password_field:
        fields[form.password_field] = "{password}"
    inline = ", ".join(f"{quote(k)}: {quote(v)}" for k, v in fields.items())
    match = quote("type=[\"']?password")
    return [
        "login:   # the login form init saw; hidden fields (CSRF tokens) and cookies are kept by the suite",
        f"  - match: {match}",
        f"    form: {{{inline}}}",
        "  # After signing in, most servers show a consent page, which init could not see (it signs in as",
        "  # no one). This step presses its approve button; narrow `match` if other pages have forms.",
        "  - match: '(?i)<form'",
        "    press: '(?i)allow|approve|accept|authori[sz]e|yes|confirm|consent'",
    ]


def placeholders(text: str) -> list[str]:
    """The ${VAR}s a written config needs, in order."""
    return list(dict.fromkeys(re.findall(r"^[^#\n]*?\$\{([A-Z0-9_]+)\}", text, re.M)))
