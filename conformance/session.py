"""Drive one profile on one target: fill a flow's parameters from the config by their `x-role`,
send it, and get codes and tokens the way the config says.

This is the only place that turns spec data into requests; checks speak in flows and roles.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import shlex
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .client import Reply, TargetClient
from .config import TargetConfig
from .errors import MissingPrerequisite, SuiteError
from .evidence import Masker
from .pointer import MISSING, resolve
from .spec import Flow, Param, Profile

OMIT: Any = object()  # an override that leaves the parameter out of the request
SECRET_ROLES = {"client_secret", "password", "code", "access_token", "refresh_token"}
_TRANSFORMS = {
    "md5-hex": lambda v: hashlib.md5(v.encode()).hexdigest(),
    "sha1-hex": lambda v: hashlib.sha1(v.encode()).hexdigest(),
}
_CONFIG_ROLES = ("client_id", "client_secret", "redirect_uri", "username", "password", "scope")


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
    ) -> Reply:
        """Send `flow` with every parameter filled in; `overrides` replace or (OMIT) drop values
        (or add an operation parameter the flow does not send); `raw_body` = (content type, bytes)
        replaces the body outright."""
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
        body: dict[str, str] = {}
        body_kind = None
        extras = [n for n in overrides if n not in flow.params and n in flow.operation.params]
        for name in (*flow.params, *extras):
            param = flow.operation.params[name]
            value = overrides[name] if name in overrides else self._value(flow, param, tokens)
            if value is OMIT:
                continue
            if param.location == "path":
                path = path.replace("{" + name + "}", quote(str(value), safe=""))
            elif param.location == "query":
                query[name] = str(value)
            else:
                body_kind = param.location
                body[name] = value if body_kind == "json" else str(value)
        path = re.sub(r"\{[^}]+\}", "", path)
        reply = self._send(flow, method, path, query, body, body_kind, raw_body)
        for role in flow.issues:  # learn every secret the answer carries, so it is masked everywhere
            self.issued(reply, flow, role)
        return reply

    def _send(
        self,
        flow: Flow,
        method: str | None,
        path: str,
        query: dict[str, str],
        body: dict[str, Any],
        body_kind: str | None,
        raw_body: tuple[str, bytes] | None,
    ) -> Reply:
        if raw_body is not None:
            return self.client.send(
                method or flow.operation.method,
                self.base_url + path,
                params=query,
                raw_body=raw_body[1],
                headers={"content-type": raw_body[0]},
            )
        return self.client.send(
            method or flow.operation.method,
            self.base_url + path,
            params=query,
            form=body if body_kind == "form" else None,
            json_body=body if body_kind == "json" else None,
        )

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
    def new_code(self) -> str:
        """One fresh code: from code_command, code_url, or an auto-approving authorize endpoint."""
        if self.config.code_command:
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

    def _code_from_authorize(self) -> str:
        authorize = next((f for f in self.profile.flows.values() if f.redirect and f.redirect.get("code_param")), None)
        if authorize is None:
            raise MissingPrerequisite("no way to get a code for this profile: set code_command in the target config")
        reply = self.call(authorize)
        code = self.redirect_value(reply, authorize.redirect["code_param"]) if authorize.redirect else None
        if not code:
            raise MissingPrerequisite(
                f"{authorize.operation.path} did not redirect with a code (it does not auto-approve): "
                "set code_command in the target config"
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
