"""Building a request from a flow: each parameter's value from its `x-role`, then where it goes.

The spec says what each parameter *is* (client_id, code, refresh_token, state, ...; the names are
conformance/model/roles.py's, checked when the spec loads); this module turns that into a value
(from the config, the tokens in hand, a fresh code) and puts each value where the operation wants
it (path, query, form or JSON body, or HTTP Basic credentials).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

from conformance.model.config import TargetConfig
from conformance.model.errors import MissingPrerequisite
from conformance.model.pointer import MISSING, resolve
from conformance.model.roles import CLIENT_ROLES, CONFIG_ROLES, TRANSFORM_NAMES, carried_pointer
from conformance.model.spec import Flow, Param
from conformance.target.capabilities import Feature
from conformance.target.tokens import Tokens

OMIT: Any = object()  # an override that leaves the parameter out of the request


def _hex_digest(algorithm: str) -> Callable[[str], str]:
    def digest(value: str) -> str:
        return hashlib.new(algorithm, value.encode()).hexdigest()

    return digest


# The x-transforms, by the names the model knows (a spec naming another is refused when it loads).
TRANSFORMS: dict[str, Callable[[str], str]] = {name: _hex_digest(name.removesuffix("-hex")) for name in TRANSFORM_NAMES}


def basic_authorization(credentials: Mapping[str, str]) -> str:
    """HTTP Basic client authentication: id and secret form-urlencoded first (RFC 6749 §2.3.1)."""
    user = quote_plus(credentials.get("client_id", ""))
    secret = quote_plus(credentials.get("client_secret", ""))
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def fill(
    flow: Flow,
    param: Param,
    *,
    config: TargetConfig,
    client: Mapping[str, str],
    tokens: Tokens | None,
    new_code: Callable[[], str],
    token_source: str | None,
) -> Any:
    """The value `param` gets in a request of `flow` (OMIT: leave it out)."""
    if param.name in flow.values:
        return flow.values[param.name]
    role = param.role
    if role in CONFIG_ROLES:
        value = client.get(str(role)) if role in CLIENT_ROLES else getattr(config, str(role))
        if value is None:
            if role == "scope":
                return OMIT
            raise MissingPrerequisite(f"set {role} in the target config ({flow.name} sends {param.name})")
        transform = config.transforms.get(param.name, param.transform)
        return TRANSFORMS[transform](value) if transform else value
    if role == "code":
        return new_code()
    if role in {"access_token", "refresh_token"}:
        assert tokens is not None
        value = getattr(tokens, str(role))
        if value is None:
            raise MissingPrerequisite(f"{token_source} issued no {role} to use in {flow.name}")
        return value
    carried = carried_pointer(role)
    if carried is not None:
        assert tokens is not None
        value = resolve(tokens.reply.json(), carried)
        if value is MISSING or value is None or isinstance(value, dict | list):
            raise MissingPrerequisite(f"{tokens.flow or token_source}'s answer has no {carried} for {flow.name}")
        return value if isinstance(value, str) else json.dumps(value)
    if role == "param":
        if param.name in config.params:
            return config.params[param.name]
        raise MissingPrerequisite(f"set params.{param.name} in the target config")
    if role == "state":
        return "st-" + secrets.token_hex(6)
    if role == "expire_days":
        return str(param.schema.get("example", 10))
    if "example" in param.schema:
        return str(param.schema["example"])
    return OMIT


@dataclass
class Outgoing:
    """A request ready to send: where, how, and with what (`sent`: the parameters, by spec name)."""

    path: str
    query: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    body_kind: str | None = None  # form | json
    headers: dict[str, str] = field(default_factory=dict)
    sent: dict[str, Any] = field(default_factory=dict)


def place(flow: Flow, values: Mapping[str, Any], *, basic: bool, spellings: Mapping[tuple[str, str], str]) -> Outgoing:
    """Put each value where the operation wants it; client credentials go into HTTP Basic when
    `basic`; a parameter the target spells otherwise (an x-alias it takes) goes under that name."""
    out = Outgoing(flow.operation.path)
    credentials: dict[str, str] = {}
    for name, value in values.items():
        if value is OMIT:
            continue
        param = flow.operation.params[name]
        out.sent[name] = value
        wire = spellings.get((flow.operation.id, name), name)
        if basic and param.role in {"client_id", "client_secret"} and param.location in {"form", "json"}:
            credentials[str(param.role)] = str(value)
        elif param.location == "path":
            out.path = out.path.replace("{" + name + "}", quote(str(value), safe=""))
        elif param.location == "query":
            out.query[wire] = str(value)
        else:
            out.body_kind = param.location
            out.body[wire] = value if param.location == "json" else str(value)
    out.path = re.sub(r"\{[^}]+\}", "", out.path)
    if credentials:
        out.headers["authorization"] = basic_authorization(credentials)
    return out


@dataclass(frozen=True)
class Prepared:
    """A request of a flow, filled in and placed, not yet sent (`ProfileSession.prepare`)."""

    flow: Flow
    feature: Feature | None
    client_key: str | None  # which of the config's `clients` sends it
    client_id: str | None
    method: str
    url: str
    query: dict[str, str]
    form: dict[str, Any] | None = None
    json_body: dict[str, Any] | None = None
    raw_body: bytes | None = None
    headers: dict[str, str] | None = None
    learns: bool = False  # a refusal of it shows whether the target offers its feature

    def parts(self) -> dict[str, Any]:
        """The keyword arguments of `TargetClient.send` (and `Burst.stage`) for this request."""
        return {
            "params": self.query,
            "form": self.form,
            "json_body": self.json_body,
            "raw_body": self.raw_body,
            "headers": self.headers,
        }
