"""What a reply means in the profile's dialect: a success, a documented error, or neither."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from conformance.model.pointer import MISSING, resolve
from conformance.model.spec import ErrorCode, Flow, Profile
from conformance.target.client import Reply


@dataclass(frozen=True)
class Outcome:
    success: bool
    error: bool
    error_code: ErrorCode | None  # a string or an integer, as the document spells its codes
    body: Any
    redirected_error: bool = False  # the error came back in a redirect (RFC 6749 §4.1.2.1)

    def describe(self, reply: Reply) -> str:
        if self.success:
            return f"a success (HTTP {reply.status})"
        if self.error_code is not None:
            return f"error {self.error_code} (HTTP {reply.status})"
        return f"HTTP {reply.status} {reply.content_type or 'without content type'}"


def classify(profile: Profile, flow: Flow, reply: Reply) -> Outcome:
    body = reply.json()
    if flow.redirect and 300 <= reply.status < 400:
        location = reply.headers.get("location", "")
        match = re.search(r"[?&#]error=([^&#]*)", location)
        if match:
            return Outcome(False, True, unquote(match.group(1)), body, redirected_error=True)
    error = profile.error
    flag = flow.error_when or (error.when if error is not None else None)  # the flow's own beats the profile's
    is_error = False
    code = None
    if error is not None and flag is not None and flag.holds(body):
        is_error = True
        if error.code:
            value = resolve(body, error.code)
            # A code is a string or an integer (`"errcode": 40029`); a bool, null or object is none.
            code = value if isinstance(value, str | int) and not isinstance(value, bool) else None
    success = not is_error and _looks_successful(profile, flow, reply, body)
    if error is None or flag is None:
        is_error = not success
    return Outcome(success, is_error, code, body)


def _carries(part: str, name: str) -> bool:
    """`part` of a redirect carries a non-empty parameter called exactly `name` (not `auth_code` for
    `code`); after `?` or `&`, as the documents' examples put it."""
    return re.search(rf"(?:^|[?&]){re.escape(name)}=[^&#]", part) is not None


def _looks_successful(profile: Profile, flow: Flow, reply: Reply, body: Any) -> bool:
    if flow.redirect:
        if not 300 <= reply.status < 400:
            return False
        location = reply.headers.get("location", "")
        if flow.redirect.get("fragment"):
            token = flow.redirect.get("token_param", "access_token")
            in_query = bool(flow.redirect.get("query_reading")) and _carries(location.partition("#")[0], token)
            return _carries(location.partition("#")[2], token) or in_query
        return _carries(location.partition("#")[0], flow.redirect.get("code_param", "code"))
    if reply.status not in profile.success_status:
        return False
    rule = flow.success_when or profile.success_when
    if rule is not None and not rule.holds(body):
        return False
    access = flow.issues.get("access_token")
    return access is None or resolve(body, access) is not MISSING
