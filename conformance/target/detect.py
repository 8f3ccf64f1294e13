"""Which profile does a target implement? Send each profile's documented operations and score them.

One implementation for both callers: `pytest --target=URL` without `--profile` (the engine's
`Run.from_options`) and `oauth2-conformance init` (conformance/tools/init.py), so the two never
disagree about a target.

Every probe is bounded (a request count, a deadline for the whole probe, a connect and read
timeout per request, a body cap) and anonymous: a POST goes with an empty form body, and nothing
carries a client secret, a password, a token or a cookie. A profile's score is the share of its
documented operations that answer (not 404/410, not 405, not what a made-up control path gets),
then how many answer, then whether it reads metadata the target publishes. A target that answers
every path alike (a single-page app) matches none.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from conformance.model.errors import ConfigError, TargetError
from conformance.model.spec import Operation, Profile
from conformance.target import discovery

MAX_REQUESTS = 80
DEADLINE = 60.0  # seconds for the whole probe
TIMEOUT = 5.0  # connect and read, per request
MAX_BODY = 64_000
CONTROL_PATH = "/oauth2-conformance-probe-no-such-path"
USER_AGENT = "oauth2-conformance (anonymous probe)"
METADATA_PATHS = ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration")
HTTP_METHODS = ("get", "post", "put", "delete", "patch")


@dataclass(frozen=True)
class Answer:
    """What one probe got back (status None: no HTTP answer, see `error`)."""

    method: str
    url: str
    status: int | None
    content_type: str = ""
    location: str = ""
    allow: str = ""
    text: str = ""
    error: str = ""
    www_authenticate: str = ""

    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except (ValueError, RecursionError):  # JSON nested deeper than Python recurses: the target's
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
    """Where the suite looks (target/discovery.py), then the origin's root, which only the probe
    reads (to tell the user where it found metadata the suite would not read)."""
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
    discovered: bool = False  # the profile reads metadata, and the target publishes some

    @property
    def answered(self) -> int:
        return sum(p.verdict == "answers" for p in self.probes)

    @property
    def score(self) -> tuple[float, int]:
        """The share of documented operations that answer, then how many."""
        return (self.answered / len(self.probes) if self.probes else 0.0, self.answered)

    @property
    def rank_key(self) -> tuple[float, int, bool]:
        return (*self.score, self.discovered)

    def describe(self) -> str:
        """`generic (6 of 6 operations answer, 1.00)`."""
        metadata = ", reads the target's metadata" if self.discovered else ""
        return f"{self.name} ({self.answered} of {len(self.probes)} operations answer, {self.score[0]:.2f}{metadata})"


def documented_operations(profile: Profile) -> list[Operation]:
    """Every operation the spec documents (a flow may not use them all: Everydo's GET /access_token)."""
    out = []
    for path, item in profile.raw.get("paths", {}).items():
        for method, op in item.items():
            if method in HTTP_METHODS:
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
        verdict = classify(answer, control)
        allow = answer.allow if answer.status == 405 else ""
        probes.append(PathProbe(operation.id, operation.method, operation.path, url, answer.status, verdict, allow))
    return ProfileMatch(profile.name, tuple(probes), bool(profile.discovery and metadata))


def rank(matches: Sequence[ProfileMatch]) -> list[ProfileMatch]:
    """Profiles whose paths answer, best first: the share that answers, then how many, then
    whether the profile reads metadata the target publishes."""
    return sorted((m for m in matches if m.answered), key=lambda m: m.rank_key, reverse=True)


# -- the verdict -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Detection:
    """What the probe found at `url`: every answering profile, best first, and the metadata."""

    url: str
    ranked: tuple[ProfileMatch, ...]
    candidates: tuple[str, ...]  # every profile that was scored
    metadata_url: str | None
    metadata: Mapping[str, Any]
    requests: int

    @property
    def tied(self) -> tuple[ProfileMatch, ...]:
        """The profiles sharing the best score (more than one: the probe cannot choose)."""
        if not self.ranked:
            return ()
        return tuple(m for m in self.ranked if m.rank_key == self.ranked[0].rank_key)

    def chosen(self) -> ProfileMatch:
        """The best match; no match, or a tie, is a one-line ConfigError naming the candidates."""
        if not self.ranked:
            raise ConfigError(
                f"no profile's documented operations answer at {self.url} (candidates: {', '.join(self.candidates)}); "
                "check the URL (does the server live under a path prefix?) or name the profile with --profile=NAME"
            )
        tied = self.tied
        if len(tied) > 1:
            names = " or ".join(f"--profile={m.name}" for m in tied)
            raise ConfigError(
                f"{', '.join(m.describe() for m in tied)} match {self.url} equally; name the one it implements: {names}"
            )
        return self.ranked[0]

    def explain(self) -> str:
        """Why the best match was chosen, with the runners-up: for the terminal and the config's comments."""
        best = self.chosen()
        others = ", ".join(m.describe() for m in self.ranked[1:]) or "none"
        return (
            f"profile {best.describe()} at {self.url}; runners-up: {others} "
            f"(ranked by the share of documented operations that answer, then their number; "
            f"{self.requests} anonymous requests)"
        )


def survey(prober: Prober, url: str, profiles: Iterable[Profile]) -> Detection:
    """Score every profile at `url`: metadata first (its URLs beat the spec's paths), then each
    profile's documented operations. An unreachable target is a one-line TargetError."""
    profiles = list(profiles)
    control = prober.send("GET", url.rstrip("/") + CONTROL_PATH)
    if control.status is None:
        raise TargetError(f"target unreachable: cannot reach {url} ({control.error}); check the URL and that it is up")
    paths = [p for prof in profiles for p in prof.discovery] or list(METADATA_PATHS)
    metadata_url, metadata = find_metadata(prober, url, dict.fromkeys(paths))
    matches = [probe_paths(prober, url, p, metadata) for p in profiles]
    names = tuple(p.name for p in profiles)
    return Detection(url, tuple(rank(matches)), names, metadata_url, metadata, prober.sent)


def detect(url: str, profiles: Iterable[Profile], **options: Any) -> Detection:
    """Probe `url` once with a fresh bounded Prober (`options`: verify, max_requests, deadline, transport)."""
    prober = Prober(**options)
    try:
        return survey(prober, url, profiles)
    finally:
        prober.close()
