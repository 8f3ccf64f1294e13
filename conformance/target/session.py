"""Drive one profile on one target: the session checks speak to, in flows and roles.

It composes the concepts it needs: building a request from a flow (request_builder.py), where
codes come from (code_source.py), where operations live (discovery.py), and what the target
offers (capabilities.py); it sends requests, drives the login steps, and learns what answers
carry (tokens to mask, refusals that show a feature is not offered, which client owns a token).
"""

from __future__ import annotations

import contextvars
import secrets
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from conformance.model.config import TargetConfig
from conformance.model.errors import MissingPrerequisite, NotApplicable, PreconditionFailed, SuiteError
from conformance.model.masking import Masker
from conformance.model.pointer import MISSING, resolve
from conformance.model.roles import CLIENT_ROLES, carried_pointer
from conformance.model.spec import Flow, Operation, Profile
from conformance.target import login
from conformance.target.capabilities import CLIENT_OF, Capabilities, Feature
from conformance.target.client import Reply, TargetClient
from conformance.target.code_source import CodeOrigin, CodeSource, redirect_value
from conformance.target.discovery import Discovery
from conformance.target.outcome import classify
from conformance.target.pkce import Pkce
from conformance.target.request_builder import OMIT, TRANSFORMS, Prepared, basic_authorization, fill, place
from conformance.target.tokens import Tokens

SECRET_ROLES = {"client_secret", "password", "code", "access_token", "refresh_token", "temp_token"}

__all__ = ["OMIT", "CodeOrigin", "Prepared", "ProfileSession", "Tokens", "basic_authorization"]


@dataclass
class TargetClock:
    """How far the suite has moved one target's clock (clock_url), and whether that was read from
    the target. One per target in a process: every session of it (one per thread when requirements
    are decided concurrently) reads and moves the same clock."""

    offset: float = 0.0
    known: bool = False


class ProfileSession:
    """Everything a check needs to talk to one profile's target.

    A session is used by one thread at a time (it keeps the last request's parameters and what it
    learned); concurrent deciding gives each thread its own, sharing the target's clock."""

    def __init__(
        self,
        profile: Profile,
        config: TargetConfig,
        base_url: str,
        client: TargetClient,
        masker: Masker,
        clock: TargetClock | None = None,
    ):
        self.profile = profile
        self.config = config
        self.base_url = base_url.rstrip("/")
        self.client = client
        self.masker = masker
        self.clock = clock or TargetClock()
        self.client_auth = config.client_auth or profile.client_auth
        self.discovery = Discovery(profile, config, base_url, client)
        self.codes = CodeSource(self)
        self._capabilities: Capabilities | None = None
        self.pkce = Pkce(self.capabilities)
        self.owners: dict[str, str | None] = {}  # issued token -> the `clients` key of the client it belongs to
        self.last_sent: dict[str, Any] = {}  # the parameters of the last request (an authorization request's)
        self.last_client_key: str | None = None
        self.spellings: dict[tuple[str, str], str] = {}  # (operation, parameter) -> the x-alias the target takes
        self._settled: set[str] = set()  # operations whose spellings are settled
        self.examples = 8  # Hypothesis examples per property (quick); `thorough` raises it
        self.seed = 0  # the run's Hypothesis seed
        self.in_flight = 1  # requests `call_together` may have in flight at once: the target's --concurrency
        for secret in config.secrets():
            masker.register(secret, "secret", pin=True)
            for name, transform in TRANSFORMS.items():
                masker.register(transform(secret), name, pin=True)
        clients = [{"client_id": config.client_id or "", "client_secret": config.client_secret or ""}]
        for credentials in (*clients, *config.clients.values()):  # HTTP Basic's spelling of each secret
            if credentials.get("client_secret"):
                basic = basic_authorization(credentials).split(" ", 1)[1]
                masker.register(basic, "basic_credentials", pin=True)

    @property
    def clock_offset(self) -> float:
        """How far the suite has moved the target's clock (clock_url), shared by its sessions."""
        return self.clock.offset

    @clock_offset.setter
    def clock_offset(self, value: float) -> None:
        self.clock.offset = value

    @property
    def code_origins(self) -> dict[str, CodeOrigin]:
        """Code -> what is known of its authorization request."""
        return self.codes.origins

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
        prepared = self.prepare(
            flow, overrides, tokens=tokens, method=method, raw_body=raw_body, client_auth=client_auth
        )
        return self.complete(prepared, self.client.send(prepared.method, prepared.url, **prepared.parts()))

    def call_together(self, calls: Sequence[tuple[Flow, Tokens | None]]) -> list[Reply]:
        """Independent requests (each with the tokens it uses) sent side by side, at most `in_flight`
        at once, and answered in the order given: as `call` would answer them one after another.

        Why: a check that looks at the same state through several flows (the lifecycle model's
        probes: three requests per token on UserCenter) would otherwise wait for each answer in turn,
        and its chain is the critical path of a latency-bound run (issue 19). Each request is built
        and each answer learned here, in order; only the sending overlaps, each in a copy of the
        caller's context so its exchange is recorded for the requirement being decided."""
        prepared = [self.prepare(flow, tokens=tokens) for flow, tokens in calls]

        def send(request: Prepared) -> Reply:
            return self.client.send(request.method, request.url, **request.parts())

        width = min(self.in_flight, len(prepared))
        if width <= 1:
            replies = [send(request) for request in prepared]
        else:
            with ThreadPoolExecutor(max_workers=width, thread_name_prefix="together") as pool:
                futures = [pool.submit(contextvars.copy_context().run, send, request) for request in prepared]
                replies = [future.result() for future in futures]  # the first error, in order, is raised
        return [self.complete(p, reply) for p, reply in zip(prepared, replies, strict=True)]

    def prepare(
        self,
        flow: Flow | str,
        overrides: Mapping[str, Any] | None = None,
        *,
        tokens: Tokens | None = None,
        method: str | None = None,
        raw_body: tuple[str, bytes] | None = None,
        client_auth: str | None = None,
    ) -> Prepared:
        """The request `call` would send, built but not sent (a race sends several together).
        Filling it in may itself send requests: a fresh code, tokens, the target's metadata."""
        flow = self.flow(flow)
        self.settle_spellings(flow)
        overrides = dict(overrides or {})
        feature = self.feature(flow, overrides)
        needs = {flow.operation.params[n].role for n in flow.params if n not in overrides and n not in flow.values}
        if tokens is None and (needs & {"access_token", "refresh_token"} or any(map(carried_pointer, needs))):
            tokens = self.tokens(refresh="refresh_token" in needs)
        client_key = self._client_key(flow, feature, overrides, tokens)
        client = self.client_values(client_key)
        caps = self.capabilities()
        caps.gate(feature, client.get("client_id"), client_key)
        basic = (client_auth or self.client_auth) == "basic"
        values: dict[str, Any] = {}
        extras = [n for n in overrides if n not in flow.params and n in flow.operation.params]
        # A code filled in for a request that leaves out or changes a parameter needed only if the
        # authorization request carried it must come from a source that says what that request carried.
        must_know = self._changed_conditionals(flow, overrides, client)
        code_for_it = (lambda: self.new_code(known=must_know)) if must_know else self.new_code
        for name in (*flow.params, *extras):
            param = flow.operation.params[name]
            if name in overrides:
                value = overrides[name]
            else:
                value = fill(
                    flow,
                    param,
                    config=self.config,
                    client=client,
                    tokens=tokens,
                    new_code=code_for_it,
                    token_source=self.profile.token_source,
                )
            if param.role == "code" and isinstance(value, str):
                self._check_code_preconditions(flow, value, overrides, client)
            values[name] = value
        values |= self.optional_values(flow, overrides)
        values |= self.pkce.additions(flow, values, overrides, self.code_origins)
        out = place(flow, values, basic=basic, spellings=self.spellings)
        self.last_sent, self.last_client_key = out.sent, client_key
        headers = out.headers
        if "authorization" in headers:
            self.masker.register(headers["authorization"].split(" ", 1)[1], "basic_credentials")
        url = self.url_for(flow.operation, out.path)
        own_client = not any(flow.operation.params[n].role in {"client_id", "client_secret"} for n in overrides)
        learns = feature is not None and method is None and raw_body is None and caps.enabled and own_client
        verb = method or flow.operation.method
        form = json_body = None
        raw = raw_body[1] if raw_body is not None else None
        if raw_body is not None:
            headers = {"content-type": raw_body[0], **headers}
        elif out.body_kind == "form":
            form = out.body
        elif out.body_kind == "json":
            json_body = out.body
        return Prepared(
            flow,
            feature,
            client_key,
            client.get("client_id"),
            verb,
            url,
            out.query,
            form=form,
            json_body=json_body,
            raw_body=raw,
            headers=headers or None,
            learns=learns,
        )

    def complete(self, prepared: Prepared, reply: Reply) -> Reply:
        """What follows an answer: the login steps of an authorization request, and learning what the
        answer carries (its tokens, to mask and to know whose they are; a refusal of a feature)."""
        flow = prepared.flow
        if flow.redirect:
            if self.config.login:
                known = {key: getattr(self.config, key) for key in ("username", "password", "client_id")}
                reply = login.complete(self.client.send, reply, self.config.login, known)
            else:
                self._refuse_login_page(flow, reply)
        for role in flow.issues:  # learn every secret the answer carries, so it is masked everywhere
            value = self.issued(reply, flow, role)
            if role in {"access_token", "refresh_token"} and isinstance(value, str):
                self.owners[value] = prepared.client_key
        if prepared.learns:
            outcome = classify(self.profile, flow, reply)
            if not outcome.success:
                self.capabilities().learn(prepared.feature, prepared.client_id, prepared.client_key, outcome.error_code)
        return reply

    def optional_values(self, flow: Flow, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """The optional parameters `flow` accepts (its `optional`) that the config sets: the scope, a
        `params` entry. A check that leaves one out overrides it (OMIT), and its evidence shows it."""
        values: dict[str, Any] = {}
        for name in flow.optional:
            if name in overrides:
                continue
            param = flow.operation.params[name]
            value = self.config.scope if param.role == "scope" else self.config.params.get(name)
            if value:
                values[name] = value
        return values

    # -- PKCE (RFC 7636), used whenever the target declares it (see pkce.py) -------------------
    def pkce_verifier(self, challenge: str) -> str | None:
        return self.pkce.verifier(challenge)

    def pkce_parameters(self) -> tuple[dict[str, str], str] | None:
        """A fresh code_challenge of the suite's choosing and its verifier, where the target declares PKCE."""
        return self.pkce.parameters()

    # -- what the target offers, and which client asks --------------------------------------
    def capabilities(self) -> Capabilities:
        """What the target offers, computed once: the config's `capabilities`, its metadata, and
        the refusals learned since (see conformance/capabilities.py)."""
        if self._capabilities is None:
            spec = self.profile.raw.get("x-conformance", {}).get("capabilities")
            metadata = self.metadata() if spec else {}
            self._capabilities = Capabilities.build(
                spec, metadata, self.discovery.metadata_url, self.config.capabilities, self.config.endpoints
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
        top = {role: getattr(self.config, role) for role in CLIENT_ROLES if getattr(self.config, role) is not None}
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

    def _conditionals(self, flow: Flow) -> tuple[str, ...]:
        """The flow's `conditional` parameters: needed only if the authorization request carried them."""
        declared = self.profile.raw.get("x-conformance", {}).get("flows", {}).get(flow.name, {})
        return tuple(declared.get("conditional", ()))

    def _changed_conditionals(
        self, flow: Flow, overrides: Mapping[str, Any], client: Mapping[str, str]
    ) -> tuple[str, ...]:
        """The conditional parameters this request leaves out or sends with another value than the client's."""
        return tuple(
            name
            for name in self._conditionals(flow)
            if name in overrides and overrides[name] != client.get(str(flow.operation.params[name].role))
        )

    def _check_code_preconditions(
        self, flow: Flow, code: str, overrides: Mapping[str, Any], client: Mapping[str, str]
    ) -> None:
        """A parameter the token request needs only if the authorization request carried it (the
        flow's `conditional`, e.g. redirect_uri by RFC 6749 §4.1.3) may be left out or changed
        only when the suite knows the code's authorization request carried it."""
        for name in self._changed_conditionals(flow, overrides, client):
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
        if self._accepted(flow):
            return
        tries = [{n: a} for n, names in aliased.items() for a in names]
        tries += [{n: names[0] for n, names in aliased.items()}] if len(aliased) > 1 else []
        for spelling in tries:
            self.spellings.update({(operation.id, n): a for n, a in spelling.items()})
            if self._accepted(flow):
                return
            for name in spelling:
                del self.spellings[(operation.id, name)]

    def _accepted(self, flow: Flow) -> bool:
        """A valid request of `flow` succeeds; for a flow with a `verdict` (a token check), its verdict
        also differs from a made-up token's: a server that never read the token answers both alike."""
        reply = self.call(flow)
        if not classify(self.profile, flow, reply).success:
            return False
        if flow.verdict is None:
            return True
        valid = resolve(reply.json(), flow.verdict)
        param = next((n for n in flow.params if flow.operation.params[n].role == "access_token"), None)
        if param is None:
            return True
        made_up = self.call(flow, {param: "made-up-" + secrets.token_hex(8)})
        if not classify(self.profile, flow, made_up).success:
            return True
        return resolve(made_up.json(), flow.verdict) != valid

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
        return self.discovery.url_for(operation, path)

    def metadata(self) -> Mapping[str, Any]:
        return self.discovery.metadata()

    def flow(self, flow: Flow | str) -> Flow:
        if isinstance(flow, Flow):
            return flow
        try:
            return self.profile.flows[flow]
        except KeyError:
            raise SuiteError(f"profile {self.profile.name} has no flow {flow!r}") from None

    def now(self) -> float:
        """The target's idea of now, in epoch seconds: ours plus however far its clock is moved.

        A target with a `clock_url` may keep a moved clock from an earlier run, so the first call
        asks it (advancing by nothing) instead of assuming its clock is ours."""
        if self.config.clock_url and not self.clock.known:
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
        self.clock.known = True

    # -- codes and tokens -------------------------------------------------------------------
    def new_code(self, authorize_params: Mapping[str, Any] | None = None, *, known: Sequence[str] = ()) -> str:
        """One fresh code from the code source (see conformance/code_source.py); `known`: the
        authorization request parameters the caller must know were carried or not."""
        return self.codes.new(authorize_params, known=known)

    def wanted_authorization(self, extra: Mapping[str, Any] | None = None) -> dict[str, str]:
        return self.codes.wanted(extra)

    redirect_value = staticmethod(redirect_value)

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
