"""Look at a target before testing it: what `oauth2-conformance init` learns, and nothing more.

Which profile a target implements is scored in conformance/target/detect.py (the run uses the same
scoring when `--profile` is not given); this module adds what only init needs: the authorization
endpoint (auto-approval, a login page's form) and the reference servers' test-only routes.

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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from conformance.model.spec import Flow, Profile
from conformance.target.detect import (
    CONTROL_PATH,
    MAX_REQUESTS,
    METADATA_PATHS,
    Answer,
    PathProbe,
    Prober,
    ProfileMatch,
    documented_operations,
    operation_url,
)
from conformance.target.login import Form
from conformance.target.login import forms as read_forms

__all__ = [
    "CONTROL_PATH",
    "MAX_REQUESTS",
    "METADATA_PATHS",
    "TEST_HOOKS",
    "Answer",
    "AuthorizeProbe",
    "Form",
    "PathProbe",
    "Prober",
    "ProfileMatch",
    "authorize_flow",
    "documented_operations",
    "operation_url",
    "probe_authorize",
    "probe_hooks",
    "read_forms",
]

MAX_HOPS = 5  # same-origin redirects followed from the authorization endpoint
# config key -> (method, path under the target, query, what the answer must be): the reference
# servers' test-only routes. `word`: 200 with one word (a fresh code); `json`: 200 with a JSON object;
# `bearer`: 401 with `WWW-Authenticate: Bearer` (a protected resource, RFC 6750 §3).
TEST_HOOKS: Mapping[str, tuple[str, str, Mapping[str, str], str]] = {
    "code_url": ("GET", "/_test/code", {}, "word"),
    "clock_url": ("POST", "/_test/clock", {"advance": "0"}, "json"),  # moves the clock by nothing
    "token_probe": ("GET", "/_test/resource", {}, "bearer"),
}


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
