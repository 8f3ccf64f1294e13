"""Look at a target before testing it: what `oauth2-conformance init` learns, and nothing more.

Every probe is bounded (a request count, a deadline for the whole probe, a connect and read
timeout per request, a body cap) and anonymous: no credential is sent that the user did not give.
Requests carry no client secret, no password, no token; the authorization request carries a
client_id and redirect_uri only when given. Forms are read, never submitted.

What is probed comes from the specs: each profile's documented operations (method and path), its
discovery paths (RFC 8414 metadata), its authorization flow. TEST_HOOKS are the test-only routes of
the suite's reference servers (`code_url`, `clock_url` in the target config); a real server
answers 404 to them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from conformance.model.spec import Flow, Operation, Profile
from conformance.target import discovery
from conformance.target.login import Form
from conformance.target.login import forms as read_forms

MAX_REQUESTS = 80
DEADLINE = 60.0  # seconds for the whole probe
TIMEOUT = 5.0  # connect and read, per request
MAX_BODY = 64_000
MAX_HOPS = 5  # same-origin redirects followed from the authorization endpoint
CONTROL_PATH = "/oauth2-conformance-probe-no-such-path"
USER_AGENT = "oauth2-conformance-init (anonymous probe)"
METADATA_PATHS = ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration")
# config key -> (method, path under the target, query, what the answer must be): the reference
# servers' test-only routes. `word`: 200 with one word (a fresh code); `json`: 200 with a JSON object;
# `bearer`: 401 with `WWW-Authenticate: Bearer` (a protected resource, RFC 6750 §3).
TEST_HOOKS: Mapping[str, tuple[str, str, Mapping[str, str], str]] = {
    "code_url": ("GET", "/_test/code", {}, "word"),
    "clock_url": ("POST", "/_test/clock", {"advance": "0"}, "json"),  # moves the clock by nothing
    "token_probe": ("GET", "/_test/resource", {}, "bearer"),
}


@dataclass(frozen=True)
class Answer:
    method: str
    url: str
    status: int | None  # None: no HTTP answer (see error)
    content_type: str = ""
    location: str = ""
    allow: str = ""
    text: str = ""
    error: str = ""
    www_authenticate: str = ""

    def json(self) -> Any:
        import json

        try:
            return json.loads(self.text)
        except ValueError:
            return None


class Prober:
    """An httpx client that refuses to exceed its request count or deadline; answers are cached."""

    def __init__(
        self,
        *,
        verify: bool | str = True,
        max_requests: int = MAX_REQUESTS,
        deadline: float = DEADLINE,
        transport: httpx.BaseTransport | None = None,  # tests: a recording transport
    ):
        self.client = httpx.Client(
            timeout=httpx.Timeout(TIMEOUT),
            follow_redirects=False,
            verify=verify,
            headers={"user-agent": USER_AGENT},
            transport=transport,
        )
        self.max_requests = max_requests
        self.ends = time.monotonic() + deadline
        self.sent = 0
        self._cache: dict[tuple[str, str, tuple[tuple[str, str], ...]], Answer] = {}

    def send(self, method: str, url: str, params: Mapping[str, str] | None = None) -> Answer:
        key = (method, url, tuple(sorted((params or {}).items())))
        if key not in self._cache:
            self._cache[key] = self._send(method, url, dict(params or {}))
        return self._cache[key]

    def _send(self, method: str, url: str, params: dict[str, str]) -> Answer:
        if self.sent >= self.max_requests or time.monotonic() > self.ends:
            return Answer(method, url, None, error="probe budget spent (requests or time)")
        self.sent += 1
        # A POST goes with an empty form body: the request is well-formed and says nothing.
        content = b"" if method == "POST" else None
        headers = {"content-type": "application/x-www-form-urlencoded"} if method == "POST" else None
        try:
            with self.client.stream(method, url, params=params, content=content, headers=headers) as response:
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) >= MAX_BODY or time.monotonic() > self.ends:
                        break
                h = response.headers
                return Answer(
                    method,
                    str(response.url),
                    response.status_code,
                    h.get("content-type", ""),
                    h.get("location", ""),
                    h.get("allow", ""),
                    body[:MAX_BODY].decode("utf-8", "replace"),
                    www_authenticate=h.get("www-authenticate", ""),
                )
        except httpx.HTTPError as exc:
            return Answer(method, url, None, error=f"{type(exc).__name__}: {exc}".strip()[:200])

    def close(self) -> None:
        self.client.close()


# -- metadata --------------------------------------------------------------------------------------
def find_metadata(prober: Prober, base_url: str, paths: Iterable[str]) -> tuple[str | None, dict[str, Any]]:
    """Where the suite looks (target/discovery.py), then the origin's root, which only init reads."""
    return discovery.find_metadata(
        lambda url: prober.send("GET", url),
        discovery.metadata_candidates(base_url, paths, root=True),
        accept=lambda body: "token_endpoint" in body or "issuer" in body,
    )


# -- documented paths ------------------------------------------------------------------------------
@dataclass(frozen=True)
class PathProbe:
    operation: str
    method: str
    path: str
    url: str
    status: int | None
    verdict: str  # answers | missing | wrong method | no answer
    allow: str = ""

    def describe(self) -> str:
        status = f"HTTP {self.status}" if self.status is not None else "no answer"
        allow = f", Allow: {self.allow}" if self.allow else ""
        return f"{self.method} {self.path}: {self.verdict} ({status}{allow})"


@dataclass(frozen=True)
class ProfileMatch:
    name: str
    probes: tuple[PathProbe, ...]

    @property
    def answered(self) -> int:
        return sum(p.verdict == "answers" for p in self.probes)

    @property
    def score(self) -> tuple[float, int]:
        """The share of documented operations that answer, then how many."""
        return (self.answered / len(self.probes) if self.probes else 0.0, self.answered)


def documented_operations(profile: Profile) -> list[Operation]:
    """Every operation the spec documents (a flow may not use them all: Everydo's GET /access_token)."""
    out = []
    for path, item in profile.raw.get("paths", {}).items():
        for method, op in item.items():
            if method in {"get", "post", "put", "delete", "patch"}:
                out.append(Operation(op.get("operationId", path), method.upper(), path, {}, op.get("x-endpoint")))
    return out


def operation_url(base_url: str, operation: Operation, metadata: Mapping[str, Any]) -> str:
    """Where the suite would send the operation: the metadata's URL for it, else base + path,
    with path parameters (`{x}`, `${x}`) filled with a harmless word."""
    discovered = metadata.get(operation.endpoint or "")
    if isinstance(discovered, str) and discovered.startswith(("http://", "https://")):
        return discovered
    return base_url.rstrip("/") + re.sub(r"\$?\{[^}]+\}", "probe", operation.path)


def classify(answer: Answer, control: Answer) -> str:
    if answer.status is None:
        return "no answer"
    if answer.status in {404, 410}:
        return "missing"
    if answer.status == 405:
        return "wrong method"
    if control.status not in {None, 404, 410} and answer.status == control.status:
        return "missing"  # the target answers every path this way: this one says nothing
    return "answers"


def probe_paths(prober: Prober, base_url: str, profile: Profile, metadata: Mapping[str, Any]) -> ProfileMatch:
    control = prober.send("GET", base_url.rstrip("/") + CONTROL_PATH)
    probes = []
    for operation in documented_operations(profile):
        url = operation_url(base_url, operation, metadata)
        answer = prober.send(operation.method, url)
        probes.append(
            PathProbe(operation.id, operation.method, operation.path, url, answer.status, classify(answer, control))
        )
        if answer.status == 405 and answer.allow:
            probes[-1] = PathProbe(**{**probes[-1].__dict__, "allow": answer.allow})
    return ProfileMatch(profile.name, tuple(probes))


# -- the authorization endpoint --------------------------------------------------------------------
@dataclass(frozen=True)
class AuthorizeProbe:
    url: str
    outcome: str  # auto-approves | login page | page with a form | redirects an error | error | no answer
    detail: str
    login_form: Form | None = None


def authorize_flow(profile: Profile) -> Flow | None:
    return next((f for f in profile.flows.values() if f.redirect and f.redirect.get("code_param")), None)


def probe_authorize(
    prober: Prober, base_url: str, profile: Profile, metadata: Mapping[str, Any], given: Mapping[str, str]
) -> AuthorizeProbe | None:
    """Follow the authorization request through same-origin redirects to what a user would see."""
    flow = authorize_flow(profile)
    if flow is None:
        return None
    url = operation_url(base_url, flow.operation, metadata)
    params = {k: v for k, v in flow.values.items()}
    for name in flow.params:
        role = flow.operation.params[name].role
        if role in given:
            params[name] = given[str(role)]
        elif role == "state":
            params[name] = "oauth2-conformance-probe"
    answer = prober.send(flow.operation.method, url, params)
    for _ in range(MAX_HOPS):
        if answer.status is None:
            return AuthorizeProbe(url, "no answer", answer.error)
        if not (300 <= answer.status < 400 and answer.location):
            break
        location = urljoin(answer.url, answer.location)
        if urlsplit(location)[:2] != urlsplit(answer.url)[:2]:
            code_param = str(flow.redirect.get("code_param")) if flow.redirect else "code"
            if re.search(rf"[?&#]{re.escape(code_param)}=", location):
                return AuthorizeProbe(url, "auto-approves", "it redirected to the client with a code")
            error = re.search(r"[?&#]error=([^&#]*)", location)
            detail = f"error={error.group(1)}" if error else location.split("?")[0]
            return AuthorizeProbe(url, "redirects an error", detail)
        answer = prober.send("GET", location)
    if answer.status is None:
        return AuthorizeProbe(url, "no answer", answer.error)
    forms = read_forms(answer.text) if "html" in answer.content_type else []
    login = next((f for f in forms if f.password_field), None)
    if login is not None:
        return AuthorizeProbe(url, "login page", f"HTTP {answer.status} at {answer.url.split('?')[0]}", login)
    if forms and answer.status == 200:
        return AuthorizeProbe(url, "page with a form", f"HTTP {answer.status} at {answer.url.split('?')[0]}")
    return AuthorizeProbe(url, "error", f"HTTP {answer.status} {answer.content_type.split(';')[0]}".strip())


# -- test hooks ------------------------------------------------------------------------------------
def probe_hooks(prober: Prober, base_url: str, keys: Iterable[str] = TEST_HOOKS) -> dict[str, str]:
    """Config keys the target's test-only routes fill in (the reference servers have them)."""
    found = {}
    for key in keys:
        method, path, query, kind = TEST_HOOKS[key]
        url = base_url.rstrip("/") + path
        answer = prober.send(method, url, query)
        text = answer.text.strip()
        ok = {
            "word": answer.status == 200 and bool(text) and len(text) < 500 and not re.search(r"\s|<", text),
            "json": answer.status == 200 and isinstance(answer.json(), dict),
            "bearer": answer.status == 401 and answer.www_authenticate.lower().startswith("bearer"),
        }
        if ok[kind]:
            found[key] = url
    return found
