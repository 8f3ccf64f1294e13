"""Drive one profile on one target: fill a flow's parameters from the config by their `x-role`,
send it, and get codes and tokens the way the config says.

This is the only place that turns spec data into requests; checks speak in flows and roles.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import shlex
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus

from . import login
from .client import Reply, TargetClient
from .config import TargetConfig
from .errors import MissingPrerequisite, SuiteError
from .evidence import Masker
from .pointer import MISSING, resolve
from .spec import Flow, Operation, Param, Profile

OMIT: Any = object()  # an override that leaves the parameter out of the request
SECRET_ROLES = {"client_secret", "password", "code", "access_token", "refresh_token", "temp_token"}
_TRANSFORMS = {
    "md5-hex": lambda v: hashlib.md5(v.encode()).hexdigest(),
    "sha1-hex": lambda v: hashlib.sha1(v.encode()).hexdigest(),
}
_CONFIG_ROLES = ("client_id", "client_secret", "redirect_uri", "username", "password", "scope")


def basic_authorization(credentials: Mapping[str, str]) -> str:
    """HTTP Basic client authentication: id and secret form-urlencoded first (RFC 6749 §2.3.1)."""
    user = quote_plus(credentials.get("client_id", ""))
    secret = quote_plus(credentials.get("client_secret", ""))
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


@dataclass(frozen=True)
class Tokens:
    access_token: str | None
    refresh_token: str | None
    reply: Reply


class ProfileSession:
    """Everything a check needs to talk to one profile's target."""

    def __init__(self, profile: Profile, config: TargetConfig, base_url: str, client: TargetClient, masker: Masker):
        self.profile = profile
        self.config = config
        self.base_url = base_url.rstrip("/")
        self.client = client
        self.masker = masker
        self.clock_offset = 0.0  # how far the suite has moved the target's clock (clock_url)
        self.client_auth = config.client_auth or profile.client_auth
        self._metadata: dict[str, Any] | None = None
        self.examples = 8  # Hypothesis examples per property (quick); `thorough` raises it
        self.seed = 0  # the run's Hypothesis seed
        for secret in config.secrets():
            masker.register(secret, "secret", pin=True)
            for name, transform in _TRANSFORMS.items():
                masker.register(transform(secret), name, pin=True)

    # -- requests ---------------------------------------------------------------------------
    def call(
        self,
        flow: Flow | str,
        overrides: Mapping[str, Any] | None = None,
        *,
        tokens: Tokens | None = None,
        method: str | None = None,
        raw_body: tuple[str, bytes] | None = None,
        client_auth: str | None = None,
    ) -> Reply:
        """Send `flow` with every parameter filled in; `overrides` replace or (OMIT) drop values
        (or add an operation parameter the flow does not send); `raw_body` = (content type, bytes)
        replaces the body outright; `client_auth` (basic | post) overrides how the client
        authenticates. An authorization request goes through the config's login steps."""
        flow = self.flow(flow)
        overrides = dict(overrides or {})
        needs_tokens = any(
            flow.operation.params[name].role in {"access_token", "refresh_token"}
            and name not in overrides
            and name not in flow.values
            for name in flow.params
        )
        if needs_tokens and tokens is None:
            tokens = self.tokens()
        path = flow.operation.path
        query: dict[str, str] = {}
        body: dict[str, Any] = {}
        body_kind = None
        basic = (client_auth or self.client_auth) == "basic"
        credentials: dict[str, str] = {}
        extras = [n for n in overrides if n not in flow.params and n in flow.operation.params]
        for name in (*flow.params, *extras):
            param = flow.operation.params[name]
            value = overrides[name] if name in overrides else self._value(flow, param, tokens)
            if value is OMIT:
                continue
            if basic and param.role in {"client_id", "client_secret"} and param.location in {"form", "json"}:
                credentials[str(param.role)] = str(value)
            elif param.location == "path":
                path = path.replace("{" + name + "}", quote(str(value), safe=""))
            elif param.location == "query":
                query[name] = str(value)
            else:
                body_kind = param.location
                body[name] = value if body_kind == "json" else str(value)
        path = re.sub(r"\{[^}]+\}", "", path)
        headers: dict[str, str] = {}
        if credentials:
            headers["authorization"] = basic_authorization(credentials)
            self.masker.register(headers["authorization"].split(" ", 1)[1], "basic_credentials")
        url = self.url_for(flow.operation, path)
        verb = method or flow.operation.method
        if raw_body is not None:
            reply = self.client.send(
                verb, url, params=query, raw_body=raw_body[1], headers={"content-type": raw_body[0], **headers}
            )
        else:
            reply = self.client.send(
                verb,
                url,
                params=query,
                form=body if body_kind == "form" else None,
                json_body=body if body_kind == "json" else None,
                headers=headers or None,
            )
        if flow.redirect and self.config.login:
            values = {key: getattr(self.config, key) for key in ("username", "password", "client_id")}
            reply = login.complete(self.client.send, reply, self.config.login, values)
        for role in flow.issues:  # learn every secret the answer carries, so it is masked everywhere
            self.issued(reply, flow, role)
        return reply

    # -- where operations live --------------------------------------------------------------
    def url_for(self, operation: Operation, path: str) -> str:
        """The config's `endpoints`, else the target's metadata (RFC 8414), else base URL + path."""
        key = operation.endpoint
        if key:
            if key in self.config.endpoints:
                return self.config.endpoints[key]
            discovered = self.metadata().get(key)
            if isinstance(discovered, str) and discovered.startswith(("http://", "https://")):
                return discovered
        return self.base_url + path

    def metadata(self) -> Mapping[str, Any]:
        """The target's authorization server metadata, fetched once (empty if it publishes none)."""
        if self._metadata is None:
            self._metadata = {}
            for where in self.profile.discovery:
                reply = self.client.send("GET", self.base_url + where)
                body = reply.json()
                if reply.status == 200 and isinstance(body, dict):
                    self._metadata = body
                    break
        return self._metadata

    def flow(self, flow: Flow | str) -> Flow:
        if isinstance(flow, Flow):
            return flow
        try:
            return self.profile.flows[flow]
        except KeyError:
            raise SuiteError(f"profile {self.profile.name} has no flow {flow!r}") from None

    def _value(self, flow: Flow, param: Param, tokens: Tokens | None) -> Any:
        if param.name in flow.values:
            return flow.values[param.name]
        role = param.role
        if role in _CONFIG_ROLES:
            value = getattr(self.config, str(role))
            if value is None:
                if role == "scope":
                    return OMIT
                raise MissingPrerequisite(f"set {role} in the target config ({flow.name} sends {param.name})")
            return _TRANSFORMS[param.transform](value) if param.transform else value
        if role == "code":
            return self.new_code()
        if role in {"access_token", "refresh_token"}:
            assert tokens is not None
            value = getattr(tokens, str(role))
            if value is None:
                raise MissingPrerequisite(f"{self.profile.token_source} issued no {role} to use in {flow.name}")
            return value
        if role == "param":
            if param.name in self.config.params:
                return self.config.params[param.name]
            raise MissingPrerequisite(f"set params.{param.name} in the target config")
        if role == "state":
            return "st-" + secrets.token_hex(6)
        if role == "expire_days":
            return str(param.schema.get("example", 10))
        if "example" in param.schema:
            return str(param.schema["example"])
        return OMIT

    def now(self) -> float:
        """The target's idea of now, in epoch seconds: ours plus however far we moved its clock."""
        return time.time() + self.clock_offset

    # -- codes and tokens -------------------------------------------------------------------
    def new_code(self, authorize_params: Mapping[str, Any] | None = None) -> str:
        """One fresh code: from code_command, code_url, or the authorize endpoint (auto-approving,
        or through the login steps). `authorize_params` (PKCE's code_challenge, say) need the
        authorize endpoint."""
        if authorize_params:
            code = self._code_from_authorize(authorize_params)
        elif self.config.code_command:
            code = self._run_code_command(self.config.code_command)
        elif self.config.code_url:
            reply = self.client.send("GET", self.config.code_url)
            code = reply.text.strip()
            if reply.status != 200 or not code:
                raise SuiteError(f"code_url {self.config.code_url} answered {reply.status} without a code")
        else:
            code = self._code_from_authorize()
        self.masker.register(code, "code")
        return code

    def _run_code_command(self, command: str) -> str:
        try:
            done = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=30, check=False)
        except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
            raise SuiteError(
                f"code_command failed to run ({type(exc).__name__}); check the command in the config"
            ) from None
        code = done.stdout.strip()
        if done.returncode != 0 or not code:
            raise SuiteError(
                f"code_command exited {done.returncode} without printing a code; run it by hand to see why"
            )
        return code.splitlines()[-1].strip()

    def _code_from_authorize(self, params: Mapping[str, Any] | None = None) -> str:
        authorize = next((f for f in self.profile.flows.values() if f.redirect and f.redirect.get("code_param")), None)
        if authorize is None:
            raise MissingPrerequisite("no way to get a code for this profile: set code_command in the target config")
        reply = self.call(authorize, params)
        code = self.redirect_value(reply, authorize.redirect["code_param"]) if authorize.redirect else None
        if not code:
            raise MissingPrerequisite(
                f"{authorize.operation.path} did not redirect with a code (it does not auto-approve): "
                "set code_command or login in the target config"
            )
        return code

    @staticmethod
    def redirect_value(reply: Reply, name: str, *, fragment: bool = False) -> str | None:
        """A parameter of the redirect's Location, after `?`, `&` (or `#` for a fragment)."""
        location = reply.headers.get("location", "")
        part = location.split("#", 1)[1] if fragment and "#" in location else location.split("#", 1)[0]
        match = re.search(rf"(?:^|[?&]){re.escape(name)}=([^&#]*)", part)
        return match.group(1) if match else None

    def tokens(self) -> Tokens:
        """Fresh tokens from the profile's token source flow."""
        if self.profile.token_source is None:
            raise MissingPrerequisite(f"profile {self.profile.name} declares no token_source")
        flow = self.flow(self.profile.token_source)
        reply = self.call(flow)
        access = self.issued(reply, flow, "access_token")
        refresh = self.issued(reply, flow, "refresh_token")
        if access is None:
            raise MissingPrerequisite(
                f"{flow.name} did not issue an access token (HTTP {reply.status}); check the credentials in the config"
            )
        return Tokens(access, refresh, reply)

    def issued(self, reply: Reply, flow: Flow, role: str) -> Any:
        """The value a success carries for `role` (per the flow's `issues`), registered as secret."""
        pointer = flow.issues.get(role)
        if pointer is None:
            return None
        value = resolve(reply.json(), pointer)
        if value is MISSING:
            return None
        if role in SECRET_ROLES:
            self.masker.register(value, role)
        return value
