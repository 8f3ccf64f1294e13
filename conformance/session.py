"""Drive one profile on one target: fill a flow's parameters from the config by their `x-role`,
send it, and get codes and tokens the way the config says.

This is the only place that turns spec data into requests; checks speak in flows and roles.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import shlex
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus, urljoin, urlsplit

from . import login
from .capabilities import CLIENT_OF, Capabilities, Feature
from .client import Reply, TargetClient
from .config import TargetConfig
from .errors import MissingPrerequisite, NotApplicable, PreconditionFailed, SuiteError
from .evidence import Masker
from .outcome import classify
from .pointer import MISSING, resolve
from .spec import Flow, Operation, Param, Profile

OMIT: Any = object()  # an override that leaves the parameter out of the request
SECRET_ROLES = {"client_secret", "password", "code", "access_token", "refresh_token", "temp_token"}
_TRANSFORMS = {
    "md5-hex": lambda v: hashlib.md5(v.encode()).hexdigest(),
    "sha1-hex": lambda v: hashlib.sha1(v.encode()).hexdigest(),
    "sha256-hex": lambda v: hashlib.sha256(v.encode()).hexdigest(),
    "sha512-hex": lambda v: hashlib.sha512(v.encode()).hexdigest(),
}
_CONFIG_ROLES = ("client_id", "client_secret", "redirect_uri", "username", "password", "scope")
_CLIENT_ROLES = ("client_id", "client_secret", "redirect_uri")
# The environment a code_command gets: the authorization request the suite wants (see new_code).
CODE_ENV = {
    "response_type": "OAUTH2_RESPONSE_TYPE",
    "client_id": "OAUTH2_CLIENT_ID",
    "redirect_uri": "OAUTH2_REDIRECT_URI",
    "scope": "OAUTH2_SCOPE",
    "state": "OAUTH2_STATE",
    "code_challenge": "OAUTH2_CODE_CHALLENGE",
    "code_challenge_method": "OAUTH2_CODE_CHALLENGE_METHOD",
}


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
    flow: str | None = None  # the flow that issued them


@dataclass(frozen=True)
class CodeOrigin:
    """What the suite knows of the authorization request a code was issued for.

    `known` is False when the code source printed a bare code: then the suite cannot tell which
    parameters the request carried. `params` are the ones it did carry (with their values)."""

    known: bool
    params: Mapping[str, str]
    source: str
    client: str | None = None  # the `clients` key of the client it was issued to

    def carried(self, name: str) -> bool | None:
        return (name in self.params) if self.known else None


class ProfileSession:
    """Everything a check needs to talk to one profile's target."""

    def __init__(self, profile: Profile, config: TargetConfig, base_url: str, client: TargetClient, masker: Masker):
        self.profile = profile
        self.config = config
        self.base_url = base_url.rstrip("/")
        self.client = client
        self.masker = masker
        self.clock_offset = 0.0  # how far the suite has moved the target's clock (clock_url)
        self._clock_known = False  # whether clock_offset was read from the target's clock_url
        self.client_auth = config.client_auth or profile.client_auth
        self._metadata: dict[str, Any] | None = None
        self._metadata_url: str | None = None
        self._capabilities: Capabilities | None = None
        self.code_origins: dict[str, CodeOrigin] = {}  # code -> its authorization request, as far as known
        self.owners: dict[str, str | None] = {}  # issued token -> the `clients` key of the client it belongs to
        self.last_sent: dict[str, Any] = {}  # the parameters of the last request (an authorization request's)
        self.last_client_key: str | None = None
        self.spellings: dict[tuple[str, str], str] = {}  # (operation, parameter) -> the x-alias the target takes
        self._settled: set[str] = set()  # operations whose spellings are settled
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
        authenticates. An authorization request goes through the config's login steps.

        A flow whose feature the target does not offer raises NotApplicable before anything is
        sent; an RFC-coded refusal of it (unsupported_grant_type, ...) raises it after."""
        flow = self.flow(flow)
        self.settle_spellings(flow)
        overrides = dict(overrides or {})
        feature = self.feature(flow, overrides)
        needs = {flow.operation.params[n].role for n in flow.params if n not in overrides and n not in flow.values}
        if tokens is None and needs & {"access_token", "refresh_token"}:
            tokens = self.tokens(refresh="refresh_token" in needs)
        client_key = self._client_key(flow, feature, overrides, tokens)
        client = self.client_values(client_key)
        caps = self.capabilities()
        caps.gate(feature, client.get("client_id"), client_key)
        path = flow.operation.path
        query: dict[str, str] = {}
        body: dict[str, Any] = {}
        body_kind = None
        basic = (client_auth or self.client_auth) == "basic"
        credentials: dict[str, str] = {}
        sent: dict[str, Any] = {}
        extras = [n for n in overrides if n not in flow.params and n in flow.operation.params]
        for name in (*flow.params, *extras):
            param = flow.operation.params[name]
            value = overrides[name] if name in overrides else self._value(flow, param, tokens, client)
            if param.role == "code" and isinstance(value, str):
                self._check_code_preconditions(flow, value, overrides, client)
            if value is OMIT:
                continue
            sent[name] = value
            if basic and param.role in {"client_id", "client_secret"} and param.location in {"form", "json"}:
                credentials[str(param.role)] = str(value)
            elif param.location == "path":
                path = path.replace("{" + name + "}", quote(str(value), safe=""))
            elif param.location == "query":
                query[self.spellings.get((flow.operation.id, name), name)] = str(value)
            else:
                body_kind = param.location
                body[self.spellings.get((flow.operation.id, name), name)] = value if body_kind == "json" else str(value)
        path = re.sub(r"\{[^}]+\}", "", path)
        self.last_sent, self.last_client_key = sent, client_key
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
        if flow.redirect:
            if self.config.login:
                values = {key: getattr(self.config, key) for key in ("username", "password", "client_id")}
                reply = login.complete(self.client.send, reply, self.config.login, values)
            else:
                self._refuse_login_page(flow, reply)
        for role in flow.issues:  # learn every secret the answer carries, so it is masked everywhere
            value = self.issued(reply, flow, role)
            if role in {"access_token", "refresh_token"} and isinstance(value, str):
                self.owners[value] = client_key
        own_client = not any(flow.operation.params[n].role in {"client_id", "client_secret"} for n in overrides)
        if feature is not None and method is None and raw_body is None and caps.enabled and own_client:
            outcome = classify(self.profile, flow, reply)
            if not outcome.success:
                caps.learn(feature, client.get("client_id"), client_key, outcome.error_code)
        return reply

    # -- what the target offers, and which client asks --------------------------------------
    def capabilities(self) -> Capabilities:
        """What the target offers, computed once: the config's `capabilities`, its metadata, and
        the refusals learned since (see conformance/capabilities.py)."""
        if self._capabilities is None:
            spec = self.profile.raw.get("x-conformance", {}).get("capabilities")
            metadata = self.metadata() if spec else {}
            self._capabilities = Capabilities.build(
                spec, metadata, self._metadata_url, self.config.capabilities, self.config.endpoints
            )
        return self._capabilities

    def require_offered(self, flow: Flow | str) -> None:
        """NotApplicable now if the target is known not to offer `flow`'s feature."""
        flow = self.flow(flow)
        feature = self.feature(flow)
        key = CLIENT_OF.get(feature) if feature else None
        self.capabilities().gate(feature, self.client_values(key).get("client_id"), key)

    @staticmethod
    def feature(flow: Flow, overrides: Mapping[str, Any] | None = None) -> Feature | None:
        """The optional feature a request of `flow` uses: its grant_type or response_type, or its
        endpoint. None when the request replaces that value (a made-up grant type is no feature)."""
        overrides = overrides or {}
        for kind in ("grant_type", "response_type"):
            if kind in flow.values:
                value = overrides.get(kind, flow.values[kind])
                return (kind, value) if value == flow.values[kind] else None
        if flow.operation.endpoint and not flow.redirect:
            return ("endpoint", flow.operation.endpoint)
        return None

    def _client_key(
        self, flow: Flow, feature: Feature | None, overrides: Mapping[str, Any], tokens: Tokens | None
    ) -> str | None:
        """Which of the config's `clients` sends this request: the one of its grant; for a request
        that uses a token or a code, the client it was issued to."""
        for name in flow.params:
            role = flow.operation.params[name].role
            value = overrides.get(name)
            if role in {"access_token", "refresh_token"}:
                value = value if isinstance(value, str) else getattr(tokens, str(role), None) if tokens else None
                if isinstance(value, str) and value in self.owners:
                    return self.owners[value]
            if role == "code" and isinstance(value, str) and value in self.code_origins:
                return self.code_origins[value].client
        return CLIENT_OF.get(feature) if feature else None

    def client_values(self, key: str | None) -> dict[str, str]:
        """client_id, client_secret and redirect_uri of the config's `clients.<key>`, else the top level."""
        top = {role: getattr(self.config, role) for role in _CLIENT_ROLES if getattr(self.config, role) is not None}
        chosen = self.config.clients.get(key or "")
        if chosen is None:
            return top
        return (
            {**top, **{k: v for k, v in chosen.items()}}
            if "client_secret" in chosen
            else {
                **{k: v for k, v in top.items() if k != "client_secret"},
                **chosen,
            }
        )

    def _refuse_login_page(self, flow: Flow, reply: Reply) -> None:
        """Without `login` steps, the server's own login or consent page is no answer to judge."""
        location = reply.headers.get("location", "")
        registered = [c.get("redirect_uri") for c in (self.client_values(None), *self.config.clients.values())]
        if 300 <= reply.status < 400 and location:
            target = urljoin(reply.exchange.url, location)
            if any(uri and target.startswith(uri) for uri in registered):
                return
            if urlsplit(target)[:2] == urlsplit(reply.exchange.url)[:2]:
                raise MissingPrerequisite(
                    f"{flow.operation.path} redirected to a page of its own ({urlsplit(target).path}), "
                    "its login or consent page: set `login` steps in the target config to drive it"
                )
        elif reply.status == 200 and "html" in (reply.content_type or ""):
            raise MissingPrerequisite(
                f"{flow.operation.path} answered with an HTML page, its login or consent page: "
                "set `login` steps in the target config to drive it"
            )

    def _check_code_preconditions(
        self, flow: Flow, code: str, overrides: Mapping[str, Any], client: Mapping[str, str]
    ) -> None:
        """A parameter the token request needs only if the authorization request carried it (the
        flow's `conditional`, e.g. redirect_uri by RFC 6749 §4.1.3) may be left out or changed
        only when the suite knows the code's authorization request carried it."""
        conditional = self.profile.raw.get("x-conformance", {}).get("flows", {}).get(flow.name, {})
        for name in conditional.get("conditional", ()):
            role = flow.operation.params[name].role
            if name not in overrides or overrides[name] == client.get(str(role)):
                continue
            origin = self.code_origins.get(code)
            carried = origin.carried(name) if origin else None
            if carried is None:
                where = origin.source if origin else "the code source"
                raise MissingPrerequisite(
                    f"{flow.name} needs {name} only if the authorization request carried it, and the code from "
                    f"{where} does not say whether it did: have code_command print a JSON object "
                    f"with the code and the parameters it used (members code and {name})"
                )
            if not carried:
                raise MissingPrerequisite(
                    f"the authorization request of this code (from {origin.source if origin else '?'}) carried no "
                    f"{name}, so {flow.name} does not need it; have the code source send {name}"
                )

    # -- spellings and token probes ---------------------------------------------------------
    def settle_spellings(self, flow: Flow) -> None:
        """Where the document spells a parameter two ways (its x-aliases: a table against an example),
        send the spelling the target takes: the spec's own while a valid request succeeds with it,
        else the first alias (or all aliases together) that makes it succeed. Decided once per operation."""
        operation = flow.operation
        aliased = {n: tuple(operation.params[n].schema.get("x-aliases", ())) for n in flow.params}
        aliased = {n: a for n, a in aliased.items() if a and n not in flow.values}
        if not aliased or operation.id in self._settled:
            return
        self._settled.add(operation.id)
        if classify(self.profile, flow, self.call(flow)).success:
            return
        tries = [{n: a} for n, names in aliased.items() for a in names]
        tries += [{n: names[0] for n, names in aliased.items()}] if len(aliased) > 1 else []
        for spelling in tries:
            self.spellings.update({(operation.id, n): a for n, a in spelling.items()})
            if classify(self.profile, flow, self.call(flow)).success:
                return
            for name in spelling:
                del self.spellings[(operation.id, name)]

    def probe_token(self, token: str) -> Reply:
        """Use `token` at the config's token_probe (a protected resource, RFC 6750)."""
        probe = self.config.token_probe
        if probe is None:
            raise MissingPrerequisite(
                "set token_probe in the target config: a request that uses an access token (url, and "
                "optionally method, send: header|query|form, param, valid_status), as a protected resource would"
            )
        url = probe.url if probe.url.startswith(("http://", "https://")) else self.base_url + probe.url
        self.masker.register(token, "access_token")
        if probe.send == "header":
            return self.client.send(probe.method, url, headers={"authorization": f"Bearer {token}"})
        if probe.send == "query":
            return self.client.send(probe.method, url, params={probe.param: token})
        return self.client.send(probe.method, url, form={probe.param: token})

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
                    self._metadata_url = self.base_url + where
                    break
        return self._metadata

    def flow(self, flow: Flow | str) -> Flow:
        if isinstance(flow, Flow):
            return flow
        try:
            return self.profile.flows[flow]
        except KeyError:
            raise SuiteError(f"profile {self.profile.name} has no flow {flow!r}") from None

    def _value(self, flow: Flow, param: Param, tokens: Tokens | None, client: Mapping[str, str]) -> Any:
        if param.name in flow.values:
            return flow.values[param.name]
        role = param.role
        if role in _CONFIG_ROLES:
            value = client.get(str(role)) if role in _CLIENT_ROLES else getattr(self.config, str(role))
            if value is None:
                if role == "scope":
                    return OMIT
                raise MissingPrerequisite(f"set {role} in the target config ({flow.name} sends {param.name})")
            transform = self.config.transforms.get(param.name, param.transform)
            return _TRANSFORMS[transform](value) if transform else value
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
        """The target's idea of now, in epoch seconds: ours plus however far its clock is moved.

        A target with a `clock_url` may keep a moved clock from an earlier run, so the first call
        asks it (advancing by nothing) instead of assuming its clock is ours."""
        if self.config.clock_url and not self._clock_known:
            self.move_clock(0)
        return time.time() + self.clock_offset

    def move_clock(self, seconds: float) -> None:
        """Advance the target's clock (clock_url: POST ?advance=SECONDS, answering {"now": epoch s})."""
        assert self.config.clock_url
        reply = self.client.send("POST", self.config.clock_url, params={"advance": str(seconds)})
        if reply.status != 200:
            raise PreconditionFailed(f"clock_url answered {reply.status}")
        body = reply.json()
        stated = body.get("now") if isinstance(body, dict) else None
        if isinstance(stated, (int, float)) and not isinstance(stated, bool):
            self.clock_offset = float(stated) - time.time()
        else:  # a clock that does not say its time: count what we moved
            self.clock_offset += seconds
        self._clock_known = True

    # -- codes and tokens -------------------------------------------------------------------
    def new_code(self, authorize_params: Mapping[str, Any] | None = None) -> str:
        """One fresh code: from code_command, code_url, or the authorize endpoint (auto-approving,
        or through the login steps). `authorize_params` (PKCE's code_challenge, say) go to the
        code_command in its environment, which must confirm it used them, or else to the
        authorize endpoint. What is known of the code's authorization request is kept in
        `code_origins`."""
        if self.config.code_command:
            code, origin = self._run_code_command(self.config.code_command, authorize_params or {})
        elif authorize_params:
            code, origin = self._code_from_authorize(authorize_params)
        elif self.config.code_url:
            reply = self.client.send("GET", self.config.code_url)
            code, origin = self._parse_code(reply.text, "code_url", self.client_values("authorization_code"))
            if reply.status != 200 or not code:
                raise SuiteError(f"code_url {self.config.code_url} answered {reply.status} without a code")
        else:
            code, origin = self._code_from_authorize()
        self.masker.register(code, "code")
        self.code_origins[code] = origin
        return code

    def wanted_authorization(self, extra: Mapping[str, Any] | None = None) -> dict[str, str]:
        """The authorization request the suite wants a code for (what a code_command gets)."""
        client = self.client_values("authorization_code")
        wanted = {"response_type": "code", "client_id": client.get("client_id"), "state": "st-" + secrets.token_hex(6)}
        wanted |= {"redirect_uri": client.get("redirect_uri"), "scope": self.config.scope}
        wanted |= dict(extra or {})
        return {k: str(v) for k, v in wanted.items() if v is not None and v is not OMIT}

    def _run_code_command(self, command: str, extra: Mapping[str, Any]) -> tuple[str, CodeOrigin]:
        """Run the code_command with the wanted authorization request in its environment
        (OAUTH2_CLIENT_ID, OAUTH2_REDIRECT_URI, OAUTH2_SCOPE, OAUTH2_STATE, OAUTH2_CODE_CHALLENGE,
        OAUTH2_CODE_CHALLENGE_METHOD, OAUTH2_RESPONSE_TYPE). It prints the bare code, or JSON
        naming the parameters its authorization request actually carried: {"code": ..., ...}."""
        wanted = self.wanted_authorization(extra)
        env = {**os.environ, **{CODE_ENV[k]: v for k, v in wanted.items() if k in CODE_ENV}}
        try:
            done = subprocess.run(
                shlex.split(command), capture_output=True, text=True, timeout=30, check=False, env=env
            )
        except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
            raise SuiteError(
                f"code_command failed to run ({type(exc).__name__}); check the command in the config"
            ) from None
        output = done.stdout.strip()
        if done.returncode != 0 or not output:
            raise SuiteError(
                f"code_command exited {done.returncode} without printing a code; run it by hand to see why"
            )
        code, origin = self._parse_code(output, "code_command", self.client_values("authorization_code"))
        for name, value in extra.items():
            if origin.params.get(name) != str(value):
                raise MissingPrerequisite(
                    f"the code needs an authorization request with {name}={value!r} ({CODE_ENV.get(name, name)} in "
                    f"code_command's environment), and code_command did not confirm it used it: have it print a JSON "
                    f"object with the code and the parameters it used (members code and {name})"
                )
        return code, origin

    @staticmethod
    def _parse_code(output: str, source: str, client: Mapping[str, str]) -> tuple[str, CodeOrigin]:
        """A bare code (its last line), or JSON {"code": ..., <authorization request parameters used>}."""
        text = output.strip()
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            code = data.get("code")
            if not isinstance(code, str) or not code:
                raise SuiteError(f"{source} printed JSON without a string `code` member")
            params = {str(k): str(v) for k, v in data.items() if k != "code" and v is not None}
            return code, CodeOrigin(True, params, f"{source} (JSON)", "authorization_code")
        code = text.splitlines()[-1].strip() if text else ""
        return code, CodeOrigin(False, {}, f"{source} (a bare code)", "authorization_code")

    def _code_from_authorize(self, params: Mapping[str, Any] | None = None) -> tuple[str, CodeOrigin]:
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
        sent = {k: str(v) for k, v in self.last_sent.items()}
        return code, CodeOrigin(True, sent, "the authorization endpoint", self.last_client_key)

    @staticmethod
    def redirect_value(reply: Reply, name: str, *, fragment: bool = False) -> str | None:
        """A parameter of the redirect's Location, after `?`, `&` (or `#` for a fragment)."""
        location = reply.headers.get("location", "")
        part = location.split("#", 1)[1] if fragment and "#" in location else location.split("#", 1)[0]
        match = re.search(rf"(?:^|[?&]){re.escape(name)}=([^&#]*)", part)
        return match.group(1) if match else None

    def token_flows(self, refresh: bool = False) -> list[Flow]:
        """The flows that give tokens, best first: the profile's token_source, then (for a profile
        with optional features) every other flow that issues an access token without using one,
        those issuing a refresh token first."""
        if self.profile.token_source is None:
            raise MissingPrerequisite(f"profile {self.profile.name} declares no token_source")
        source = self.flow(self.profile.token_source)
        if not self.capabilities().enabled:
            return [source]
        others = [
            f
            for f in self.profile.flows.values()
            if f is not source
            and "access_token" in f.issues
            and not f.redirect
            and not {f.operation.params[n].role for n in f.params} & {"access_token", "refresh_token"}
        ]
        flows = [source, *sorted(others, key=lambda f: "refresh_token" not in f.issues)]
        return sorted(flows, key=lambda f: "refresh_token" not in f.issues) if refresh else flows

    def tokens(self, refresh: bool = False) -> Tokens:
        """Fresh tokens from the first flow that gives them: the token source, else (where grants
        are optional) a code exchange or client credentials; `refresh` prefers flows that also
        issue a refresh token. A flow the target does not offer, or that lacks configuration, is
        skipped; if none gives tokens, the reasons are in the MissingPrerequisite."""
        reasons: list[str] = []
        for flow in self.token_flows(refresh):
            try:
                reply = self.call(flow)
            except (NotApplicable, MissingPrerequisite) as exc:
                reasons.append(f"{flow.name}: {exc}")
                continue
            access = self.issued(reply, flow, "access_token")
            refresh_token = self.issued(reply, flow, "refresh_token")
            if access is None:
                raise MissingPrerequisite(
                    f"{flow.name} did not issue an access token (HTTP {reply.status}); "
                    "check the credentials in the config"
                )
            return Tokens(access, refresh_token, reply, flow.name)
        if len(reasons) == 1:
            raise MissingPrerequisite(reasons[0].split(": ", 1)[1])
        raise MissingPrerequisite("no flow gave tokens: " + "; ".join(reasons))

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
