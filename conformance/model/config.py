"""The target config: a stable YAML contract between a vendor's target and the suite.

Unknown keys and unset `${VAR}` references are errors, not surprises at run time (in a config the
suite derived itself from a target given by URL alone, an unset variable leaves its key out).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from conformance.model.errors import ConfigError
from conformance.model.masking import MIN_SUBSTRING
from conformance.model.roles import TRANSFORM_NAMES  # the transforms a config's `transforms` may name
from conformance.model.yaml_source import position

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

# Keys that hold secrets: their values are masked wherever the suite writes.
SECRET_KEYS = ("client_secret", "password")


@dataclass(frozen=True)
class TokenProbe:
    """A request that uses an access token, as a protected resource would (RFC 6750), and how a valid
    answer looks: it lets the suite see whether a token still works on profiles whose documents have
    no endpoint that uses one."""

    url: str  # absolute, or a path appended to the target
    method: str = "GET"
    send: str = "header"  # header: Authorization: Bearer (RFC 6750 §2.1); query (§2.3); form (§2.2)
    param: str = "access_token"  # the parameter name when send is query or form
    valid_status: tuple[int, ...] = (200,)  # statuses of an answer that accepted the token


TOKEN_PROBE_SENDS = ("header", "query", "form")


@dataclass(frozen=True)
class TargetConfig:
    """What the suite needs to know about one target. Every field is optional but `profile`."""

    target: str | None = None
    profile: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    redirect_uri: str | None = None
    username: str | None = None
    password: str | None = None
    scope: str | None = None
    code_command: str | None = None
    code_url: str | None = None
    clock_url: str | None = None
    max_wait: float = 10.0
    params: Mapping[str, str] = field(default_factory=dict)
    feature_expiry_ms: int | None = None
    max_requests: int = 20_000
    rate: float | None = None
    timeout: float = 10.0
    connect_timeout: float = 5.0
    max_body: int = 1_000_000
    ca_bundle: str | None = None
    insecure: bool = False
    examples: int | str | None = None  # Hypothesis examples per property: quick, thorough or a number
    concurrency: int | None = None  # requirements decided at once against this target (--concurrency wins)
    client_auth: str | None = None  # basic | post: overrides the profile's default
    endpoints: Mapping[str, str] = field(default_factory=dict)  # metadata field -> URL, beats discovery
    login: tuple[Mapping[str, Any], ...] = ()  # scripted login and consent steps (see conformance/login.py)
    token_probe: TokenProbe | None = None  # a request that uses an access token (see TokenProbe)
    transforms: Mapping[str, str] = field(default_factory=dict)  # parameter -> the x-transform it gets instead
    # A client per grant (authorization_code, implicit, password, client_credentials) and `second`, a
    # second client for cross-client checks; each {client_id, client_secret}; the top-level client otherwise.
    clients: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # What the target offers, by RFC 8414 metadata member; beats the target's metadata (conformance/capabilities.py).
    capabilities: Mapping[str, Any] = field(default_factory=dict)

    def secrets(self) -> tuple[str, ...]:
        values = [getattr(self, key) for key in SECRET_KEYS]
        values += [client.get("client_secret") for client in self.clients.values()]
        return tuple(v for v in values if v)

    def masked(self) -> dict[str, Any]:
        """The config as a dict, secrets replaced, for reports."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = "***" if f.name in SECRET_KEYS and value else value
        out["params"] = dict(self.params)
        out["transforms"] = dict(self.transforms)
        out["token_probe"] = asdict(self.token_probe) if self.token_probe else None
        out["clients"] = {
            grant: {k: "***" if k in SECRET_KEYS and v else v for k, v in client.items()}
            for grant, client in self.clients.items()
        }
        out["capabilities"] = dict(self.capabilities)
        return out


KNOWN_KEYS = {f.name for f in fields(TargetConfig)}


def expand(value: Any, where: str, key: str = "") -> Any:
    """Expand `${VAR}` from the environment, recursively. An unset variable is an error, and so is
    one set to the empty string: an empty `client_id` would be sent as a client (a second client
    that is no client makes the cross-client checks fail instead of refusing the config)."""
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            at = f"{where}: {key}: " if key else f"{where}: "
            if name not in os.environ:
                raise ConfigError(f"{at}environment variable {name} is not set (export it or edit the config)")
            if os.environ[name] == "":
                raise ConfigError(f"{at}environment variable {name} is empty (export a value or edit the config)")
            return os.environ[name]

        return _VAR.sub(sub, value)
    if isinstance(value, dict):
        return {k: expand(v, where, f"{key}.{k}" if key else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, where, f"{key}[{n}]") for n, v in enumerate(value)]
    return value


def from_mapping(data: Mapping[str, Any], where: str = "config") -> TargetConfig:
    unknown = sorted(set(data) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(KNOWN_KEYS))}")
    values = expand(dict(data), where)
    params = values.get("params") or {}
    if not isinstance(params, dict):
        raise ConfigError(f"{where}: params must be a mapping of parameter name to value")
    values["params"] = {str(k): str(v) for k, v in params.items()}
    endpoints = values.get("endpoints") or {}
    if not isinstance(endpoints, dict):
        raise ConfigError(f"{where}: endpoints must map metadata names (token_endpoint, ...) to URLs")
    values["endpoints"] = {str(k): str(v) for k, v in endpoints.items()}
    if values.get("client_auth") not in (None, "basic", "post"):
        raise ConfigError(f"{where}: client_auth must be basic or post, got {values['client_auth']!r}")
    values["login"] = _login_steps(values.get("login"), where)
    values["token_probe"] = _token_probe(values.get("token_probe"), where)
    values["transforms"] = _transforms(values.get("transforms"), where)
    values["clients"] = _clients(values.get("clients"), where)
    values["capabilities"] = _capabilities(values.get("capabilities"), where)
    for key in ("max_wait", "timeout", "connect_timeout", "rate"):
        if values.get(key) is not None and not isinstance(values[key], int | float):
            raise ConfigError(f"{where}: {key} must be a number of seconds, got {values[key]!r}")
    for key in ("max_requests", "max_body", "feature_expiry_ms"):
        if values.get(key) is not None and not isinstance(values[key], int):
            raise ConfigError(f"{where}: {key} must be an integer, got {values[key]!r}")
    limit = values.get("concurrency")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ConfigError(f"{where}: concurrency must be a positive integer (1: one at a time), got {limit!r}")
    for key, value in values.items():
        if key not in {
            "params",
            "insecure",
            "endpoints",
            "login",
            "token_probe",
            "transforms",
            "clients",
            "capabilities",
        } and isinstance(value, dict | list | tuple):
            raise ConfigError(f"{where}: {key} must be a single value, not a {type(value).__name__}")
    _check_secret_lengths(values, where)
    return TargetConfig(**values)


def _check_secret_lengths(values: Mapping[str, Any], where: str) -> None:
    """Refuse a secret too short to mask: masking finds a secret as a substring anywhere (masking.py),
    and a value of fewer than MIN_SUBSTRING characters ("pass", "1234") would be an ordinary word
    of every report, so it could be neither masked safely nor left unmasked."""
    named = [(key, values.get(key)) for key in SECRET_KEYS]
    named += [(f"clients.{name}.client_secret", c.get("client_secret")) for name, c in values["clients"].items()]
    for key, value in named:
        if value and len(str(value)) < MIN_SUBSTRING:  # none or empty: nothing to mask
            raise ConfigError(
                f"{where}: {key} has {len(str(value))} characters; the suite masks secrets wherever they "
                f"appear and needs at least {MIN_SUBSTRING} to do that safely: use a longer (test) secret"
            )


def _token_probe(raw: Any, where: str) -> TokenProbe | None:
    """`token_probe`: {url, method, send, param, valid_status}; only url is required."""
    if raw is None:
        return None
    known = {f.name for f in fields(TokenProbe)}
    if not isinstance(raw, dict) or "url" not in raw or set(raw) - known:
        others = ", ".join(sorted(known - {"url"}))
        raise ConfigError(f"{where}: token_probe must be a mapping with url (and optionally {others})")
    send = raw.get("send", "header")
    if send not in TOKEN_PROBE_SENDS:
        raise ConfigError(f"{where}: token_probe.send must be one of {', '.join(TOKEN_PROBE_SENDS)}, got {send!r}")
    valid = raw.get("valid_status", [200])
    valid = [valid] if isinstance(valid, int) else valid
    if not isinstance(valid, list) or not valid or not all(type(v) is int for v in valid):
        raise ConfigError(f"{where}: token_probe.valid_status must be an HTTP status or a list of them")
    method = str(raw.get("method", "GET")).upper()
    return TokenProbe(str(raw["url"]), method, str(send), str(raw.get("param", "access_token")), tuple(valid))


def _transforms(raw: Any, where: str) -> dict[str, str]:
    """`transforms`: parameter name -> the x-transform it gets instead of the spec's (UserCenter's
    shapassword is SHA-1 by default; `{shapassword: sha256-hex}` if the target means SHA-256)."""
    raw = raw or {}
    if not isinstance(raw, dict) or any(str(v) not in TRANSFORM_NAMES for v in raw.values()):
        raise ConfigError(f"{where}: transforms must map parameter names to one of {', '.join(TRANSFORM_NAMES)}")
    return {str(k): str(v) for k, v in raw.items()}


def _login_steps(raw: Any, where: str) -> tuple[Mapping[str, Any], ...]:
    """Each step: `match` (a regex the page must match), and `form` (fields to submit) and/or `press`
    (a regex naming the submit button to press)."""
    if raw in (None, []):
        return ()
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: login must be a list of steps, each with match and form or press")
    steps = []
    for n, step in enumerate(raw, start=1):
        if (
            not isinstance(step, dict)
            or set(step) - {"match", "form", "press", "action"}
            or not ({"form", "press"} & set(step))
        ):
            raise ConfigError(f"{where}: login step {n} must have `form` or `press` (and optionally `match`, `action`)")
        if not isinstance(step.get("form", {}), dict):
            raise ConfigError(f"{where}: login step {n}: form must map field names to values")
        for key in ("match", "press"):
            try:
                re.compile(str(step.get(key, "")))
            except re.error as exc:
                raise ConfigError(f"{where}: login step {n}: {key} is not a valid regex ({exc})") from None
        steps.append(step)
    return tuple(steps)


CLIENT_KEYS = ("client_id", "client_secret", "redirect_uri")
CLIENT_NAMES = ("authorization_code", "implicit", "password", "client_credentials", "second")
CAPABILITY_KEYS = {
    "grant_types_supported": list,
    "response_types_supported": list,
    "token_endpoint_auth_methods_supported": list,
    "code_challenge_methods_supported": list,
    "revocation_endpoint": bool,
    "introspection_endpoint": bool,
}


def _clients(raw: Any, where: str) -> dict[str, dict[str, str]]:
    """`clients`: a client per grant and a `second` client, each with client_id (and client_secret)."""
    if raw in (None, {}):
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: clients must map a grant ({', '.join(CLIENT_NAMES)}) to a client")
    out: dict[str, dict[str, str]] = {}
    for name, client in raw.items():
        if name not in CLIENT_NAMES:
            raise ConfigError(f"{where}: clients.{name} is not a grant; use one of {', '.join(CLIENT_NAMES)}")
        if not isinstance(client, dict) or "client_id" not in client or set(client) - set(CLIENT_KEYS):
            raise ConfigError(
                f"{where}: clients.{name} must have client_id (and optionally client_secret, redirect_uri)"
            )
        out[str(name)] = {str(k): str(v) for k, v in client.items() if v is not None}
    return out


def _capabilities(raw: Any, where: str) -> dict[str, Any]:
    """`capabilities`: RFC 8414 member names with what the target offers, beating its metadata."""
    if raw in (None, {}):
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: capabilities must map RFC 8414 metadata names to values")
    out: dict[str, Any] = {}
    for name, value in raw.items():
        kind = CAPABILITY_KEYS.get(name)
        if kind is None:
            raise ConfigError(f"{where}: capabilities.{name} is unknown; known: {', '.join(CAPABILITY_KEYS)}")
        if kind is list and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise ConfigError(f"{where}: capabilities.{name} must be a list of names")
        if kind is bool and not isinstance(value, bool):
            raise ConfigError(f"{where}: capabilities.{name} must be true or false (its URL goes in endpoints)")
        out[str(name)] = list(value) if kind is list else value
    return out


@dataclass(frozen=True)
class Derived:
    """A config the suite wrote itself for a target given by URL alone (conformance/engine/survey.py)."""

    text: str  # as `oauth2-conformance init` would save it, `${VAR}`s and all: no secret in it
    config: TargetConfig
    unset: tuple[str, ...]  # the variables not in the environment (or empty): their keys are left out


_GONE = object()  # a value whose ${VAR} is unset: its key is left out


def _prune(value: Any, unset: list[str]) -> Any:
    """`value` without what refers to an unset or empty variable; a mapping or list left empty by
    it goes too (a `clients.second` with neither of its values is no client)."""
    if isinstance(value, str):
        missing = [name for name in _VAR.findall(value) if not os.environ.get(name)]
        unset.extend(missing)
        return _GONE if missing else value
    if isinstance(value, dict):
        kept = {k: v for k, v in ((k, _prune(v, unset)) for k, v in value.items()) if v is not _GONE}
        return _GONE if value and not kept else kept
    if isinstance(value, list):
        items = [v for v in (_prune(v, unset) for v in value) if v is not _GONE]
        return _GONE if value and not items else items
    return value


def derive(text: str, where: str = "the config derived from the target") -> Derived:
    """The config `text` (written by the survey, not by a user) with its `${VAR}`s from the
    environment. Unlike a user's file, where an unset variable is an error, here it leaves its key
    out: the run goes on, and each requirement that needs the key is `not run` naming it."""
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where} is not a mapping (a suite bug: report it)")
    unset: list[str] = []
    pruned = _prune(data, unset)
    return Derived(text, from_mapping(pruned if isinstance(pruned, dict) else {}, where), tuple(dict.fromkeys(unset)))


def load(path: str | os.PathLike[str]) -> TargetConfig:
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"target config {file} does not exist (check the --target-config path)")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"target config {file} is not valid YAML{position(exc)}; fix the syntax") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"target config {file} must be a YAML mapping of keys to values")
    return from_mapping(data, str(file))
