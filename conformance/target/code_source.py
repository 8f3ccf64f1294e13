"""Where fresh codes come from, and what the suite knows of the request each was issued for.

In order: the config's `code_command` (a program that prints one fresh code), `code_url` (a URL
that answers one), or the profile's authorization endpoint (auto-approving, or driven through the
config's `login` steps). A code_command gets the authorization request the suite wants in its
environment (CODE_ENV) and prints the bare code, or JSON naming the parameters it actually used;
only then can requirements whose precondition concerns that request (redirect_uri at the token
endpoint, PKCE) be decided. The suite's own authorization requests carry PKCE wherever the target
declares it (pkce.py), and so does the request a code_command gets: a code_challenge a check
chose, else (the target declares PKCE) one the suite chose itself, whose code_verifier it sends
with the code once the command's JSON confirms it used that challenge (a target that requires
PKCE, such as django-oauth-toolkit by default, issues no code without one). A command that prints
a bare code cannot confirm it, so it is offered none after its first answer.

When the configured source cannot say what a requirement needs to know of the request (a bare
code, an unconfirmed parameter), the authorization endpoint is the source of last resort (issue
17): tried when the profile has one, and remembered when it gives no code, so that a requirement
is `not run` only when neither source can give the code it needs.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol
from urllib.parse import unquote_plus

from conformance.model.config import TargetConfig
from conformance.model.errors import MissingPrerequisite, SuiteError
from conformance.model.masking import Masker
from conformance.model.spec import Flow, Profile
from conformance.target.client import Reply, TargetClient

# The environment a code_command gets: the authorization request the suite wants.
CODE_ENV = {
    "response_type": "OAUTH2_RESPONSE_TYPE",
    "client_id": "OAUTH2_CLIENT_ID",
    "redirect_uri": "OAUTH2_REDIRECT_URI",
    "scope": "OAUTH2_SCOPE",
    "state": "OAUTH2_STATE",
    "code_challenge": "OAUTH2_CODE_CHALLENGE",
    "code_challenge_method": "OAUTH2_CODE_CHALLENGE_METHOD",
}


class Caller(Protocol):
    """What a code source needs of the profile session that owns it (the session is one)."""

    profile: Profile
    config: TargetConfig
    client: TargetClient
    masker: Masker
    last_sent: dict[str, Any]
    last_client_key: str | None

    def call(self, flow: Flow, overrides: Mapping[str, Any] | None = None) -> Reply: ...

    def client_values(self, key: str | None) -> dict[str, str]: ...

    def pkce_verifier(self, challenge: str) -> str | None: ...

    def pkce_parameters(self) -> tuple[dict[str, str], str] | None: ...


@dataclass(frozen=True)
class CodeOrigin:
    """What the suite knows of the authorization request a code was issued for.

    `known` is False when the code source printed a bare code: then the suite cannot tell which
    parameters the request carried. `params` are the ones it did carry (with their values)."""

    known: bool
    params: Mapping[str, str]
    source: str
    client: str | None = None  # the `clients` key of the client it was issued to
    verifier: str | None = None  # the PKCE code_verifier the suite chose for its code_challenge

    def carried(self, name: str) -> bool | None:
        return (name in self.params) if self.known else None


def redirect_value(reply: Reply, name: str, *, fragment: bool = False) -> str | None:
    """A parameter of the redirect's Location, after `?`, `&` (or `#` for a fragment)."""
    location = reply.headers.get("location", "")
    part = location.split("#", 1)[1] if fragment and "#" in location else location.split("#", 1)[0]
    match = re.search(rf"(?:^|[?&]){re.escape(name)}=([^&#]*)", part)
    return match.group(1) if match else None


class AuthorizationRefused(MissingPrerequisite):
    """The authorization endpoint answered the request for a code with an error (RFC 6749 §4.1.2.1)."""

    def __init__(self, message: str, error: str) -> None:
        super().__init__(message)
        self.error = error


def parse_code(output: str, source: str) -> tuple[str, CodeOrigin]:
    """A bare code (its last line), or JSON {"code": ..., <authorization request parameters used>}.
    JSON {"error": ..., "error_description": ...} says the authorization endpoint refused the
    request (RFC 6749 §4.1.2.1): the same as the suite being refused there itself."""
    text = output.strip()
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # JSON nested deeper than Python recurses: the target's
        data = None
    if isinstance(data, dict):
        code, error = data.get("code"), data.get("error")
        if isinstance(error, str) and error and not code:
            description = data.get("error_description")
            detail = f" ({description})" if isinstance(description, str) and description else ""
            raise AuthorizationRefused(
                f"{source}: the authorization endpoint refused the request with error {error}{detail}", error
            )
        if not isinstance(code, str) or not code:
            raise SuiteError(f"{source} printed JSON without a string `code` member")
        params = {str(k): str(v) for k, v in data.items() if k != "code" and v is not None}
        return code, CodeOrigin(True, params, f"{source} (JSON)", "authorization_code")
    code = text.splitlines()[-1].strip() if text else ""
    return code, CodeOrigin(False, {}, f"{source} (a bare code)", "authorization_code")


def _no_code(path: str, reply: Reply, login: bool) -> str:
    """Why the authorization endpoint gave no code, and what would get one."""
    error = redirect_value(reply, "error")
    if error:
        description = redirect_value(reply, "error_description") or ""
        detail = f" ({unquote_plus(description)})" if description else ""
        return (
            f"{path} refused the authorization request with error {unquote_plus(error)}{detail}; "
            "see the requirement of that endpoint, or set code_command in the target config"
        )
    if login:
        return (
            f"{path} gave no code after the login steps (HTTP {reply.status}): they stopped at a page none of "
            "them matches; check the login steps' match and form against that page, or set code_command"
        )
    return (
        f"{path} did not redirect with a code (HTTP {reply.status}; it does not auto-approve): "
        "set login steps or code_command in the target config"
    )


class CodeSource:
    """One session's supply of fresh codes; `origins` remembers each code's authorization request."""

    def __init__(self, session: Caller) -> None:
        self.session = session
        self.origins: dict[str, CodeOrigin] = {}
        self._authorize_fails: str | None = None  # why the authorization endpoint, tried as a last resort, gave no code
        # Whether the code_command answers in JSON: None until it has answered once. Only one that
        # does can confirm a code_challenge of the suite's choosing (see _from_command).
        self._command_confirms: bool | None = None

    def new(self, authorize_params: Mapping[str, Any] | None = None, *, known: Sequence[str] = ()) -> str:
        """One fresh code. `authorize_params` (PKCE's code_challenge, say) go to the code_command in
        its environment, which must confirm it used them, or else to the authorization endpoint.
        `known` names parameters the caller must know the authorization request carried or not.

        When the configured source cannot say what the request carried (a bare code, an unconfirmed
        parameter), the profile's authorization endpoint is the source of last resort: it is tried
        once, and only when it gives no code either does the requirement stay `not run`, with both reasons."""
        try:
            code, origin = self._configured(authorize_params or {}, known)
        except AuthorizationRefused:
            raise
        except MissingPrerequisite as exc:
            code, origin = self._last_resort(exc, authorize_params)
        self.session.masker.register(code, "code")
        self.origins[code] = origin
        return code

    def _configured(self, authorize_params: Mapping[str, Any], known: Sequence[str]) -> tuple[str, CodeOrigin]:
        """A code from the source the config names: code_command, code_url, else the authorization endpoint."""
        config = self.session.config
        if config.code_command:
            code, origin = self._from_command(config.code_command, authorize_params)
        elif authorize_params:
            return self._from_authorize(authorize_params)
        elif config.code_url:
            reply = self.session.client.send("GET", config.code_url)
            code, origin = parse_code(reply.text, "code_url")
            if reply.status != 200 or not code:
                raise SuiteError(f"code_url {config.code_url} answered {reply.status} without a code")
        else:
            return self._from_authorize()
        if known and not origin.known:
            self.session.masker.register(code, "code")
            raise MissingPrerequisite(
                f"the code from {origin.source} does not say whether its authorization request carried "
                f"{' or '.join(known)}: have code_command print a JSON object with the code and the parameters "
                f"it used (members code and {', '.join(known)})"
            )
        return code, origin

    def _last_resort(self, why: MissingPrerequisite, params: Mapping[str, Any] | None) -> tuple[str, CodeOrigin]:
        """The authorization endpoint, when the configured source could not give the code wanted."""
        if self._authorize_fails is not None or self._authorize_flow() is None:
            raise MissingPrerequisite(
                f"{why}; the authorization endpoint gave none either: {self._authorize_fails}"
                if self._authorize_fails
                else str(why)
            ) from None
        try:
            return self._from_authorize(params)
        except AuthorizationRefused:
            raise
        except MissingPrerequisite as exc:
            self._authorize_fails = str(exc)
            raise MissingPrerequisite(f"{why}; the authorization endpoint gave none either: {exc}") from None

    def wanted(self, extra: Mapping[str, Any] | None = None) -> dict[str, str]:
        """The authorization request the suite wants a code for (what a code_command gets)."""
        client = self.session.client_values("authorization_code")
        wanted = {"response_type": "code", "client_id": client.get("client_id"), "state": "st-" + secrets.token_hex(6)}
        wanted |= {"redirect_uri": client.get("redirect_uri"), "scope": self.session.config.scope}
        wanted |= dict(extra or {})
        return {k: str(v) for k, v in wanted.items() if v is not None and isinstance(v, (str, int, float))}

    def _from_command(self, command: str, extra: Mapping[str, Any]) -> tuple[str, CodeOrigin]:
        """A code from the code_command. Where the target declares PKCE and the caller chose no
        code_challenge, the command is offered one of the suite's choosing. A bare code then leaves
        unknown whether it was used (and so whether the token request needs the verifier): that code
        is dropped, the command is asked again without the offer, and never offered one again."""
        offer = "code_challenge" not in extra and self._command_confirms is not False
        own_pkce = self.session.pkce_parameters() if offer else None
        code, origin = self._run_command(command, extra, own_pkce)
        self._command_confirms = origin.known
        if own_pkce is None or origin.known:
            return code, origin
        self.session.masker.register(code, "code")  # dropped, but a code all the same
        return self._run_command(command, extra, None)

    def _run_command(
        self, command: str, extra: Mapping[str, Any], own_pkce: tuple[dict[str, str], str] | None
    ) -> tuple[str, CodeOrigin]:
        wanted = self.wanted({**(own_pkce[0] if own_pkce else {}), **extra})
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
        if done.returncode != 0 and output.startswith("{"):
            parse_code(output, "code_command")  # a refusal it reports ({"error": ...}) is raised as one
        if done.returncode != 0 or not output:
            raise SuiteError(
                f"code_command exited {done.returncode} without printing a code; run it by hand to see why"
            )
        code, origin = parse_code(output, "code_command")
        if own_pkce is not None and origin.params.get("code_challenge") == own_pkce[0]["code_challenge"]:
            origin = replace(origin, verifier=own_pkce[1])  # confirmed: the token request sends the verifier
        for name, value in extra.items():
            if not isinstance(value, (str, int, float)):  # asked to leave it out: the JSON must not name it
                if origin.carried(name) is not False:
                    raise MissingPrerequisite(
                        f"the code needs an authorization request without {name}, and code_command did not confirm "
                        f"it left it out: have it print a JSON object with the code and the parameters it used"
                    )
                continue
            if origin.params.get(name) != str(value):
                raise MissingPrerequisite(
                    f"the code needs an authorization request with {name}={value!r} ({CODE_ENV.get(name, name)} in "
                    f"code_command's environment), and code_command did not confirm it used it: have it print a JSON "
                    f"object with the code and the parameters it used (members code and {name})"
                )
        return code, origin

    def _authorize_flow(self) -> Flow | None:
        """The profile's flow that asks the authorization endpoint for a code (its redirect carries one)."""
        flows = self.session.profile.flows.values()
        return next((f for f in flows if f.redirect and f.redirect.get("code_param")), None)

    def _from_authorize(self, params: Mapping[str, Any] | None = None) -> tuple[str, CodeOrigin]:
        session = self.session
        authorize = self._authorize_flow()
        if authorize is None or authorize.redirect is None:
            raise MissingPrerequisite("no way to get a code for this profile: set code_command in the target config")
        reply = session.call(authorize, params)
        code = redirect_value(reply, authorize.redirect["code_param"])
        if not code:
            reason = _no_code(authorize.operation.path, reply, bool(session.config.login))
            error = redirect_value(reply, "error")
            raise AuthorizationRefused(reason, unquote_plus(error)) if error else MissingPrerequisite(reason)
        sent = {k: str(v) for k, v in session.last_sent.items()}
        verifier = (
            session.pkce_verifier(sent.get("code_challenge", "")) if "code_challenge" not in (params or {}) else None
        )
        return code, CodeOrigin(True, sent, "the authorization endpoint", session.last_client_key, verifier)
