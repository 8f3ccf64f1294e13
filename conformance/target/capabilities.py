"""What the target offers: computed once per session from its metadata and the config, plus the
refusals it answered with the RFC's own codes.

A profile opts in with an `x-conformance.capabilities` block (the rfc6749 spec does; a vendor
document's flows are all mandatory, so vendor profiles have none):

    capabilities:
      optional:                 # features the RFCs leave optional, by kind
        grant_type: [password, client_credentials, ...]
        response_type: [code, token]
        endpoint: [revocation_endpoint, introspection_endpoint]
      refusals:                 # the answers that mean "not offered" (RFC 6749 §4.1.2.1, §5.2)
        grant_type: [unsupported_grant_type, unauthorized_client]
        response_type: [unsupported_response_type, unauthorized_client]

Where the answers come from, first match wins:

1. the config's `capabilities` (RFC 8414 member names: grant_types_supported, ...);
2. the target's RFC 8414 metadata;
3. a refusal with exactly the RFC's codes, learned when a flow is first tried. `unauthorized_client`
   means the *configured client* is not registered for the grant (RFC 6749 §5.2): not applicable
   for that client, with the hint to configure `clients.<grant>`. Any other answer is no refusal
   and the requirement is decided as usual.

A feature that is known not to be offered makes the requirements about it `not applicable`
(conformance.errors.NotApplicable), never a failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.model.errors import MissingPrerequisite, NotApplicable
from conformance.model.spec import ErrorCode

# The RFC 8414 member that lists each kind of feature.
MEMBERS = {"grant_type": "grant_types_supported", "response_type": "response_types_supported"}
AUTH_METHODS = "token_endpoint_auth_methods_supported"
PKCE_METHODS = "code_challenge_methods_supported"
# Which client a flow of each grant uses (the config's `clients` keys).
CLIENT_OF = {
    ("grant_type", "authorization_code"): "authorization_code",
    ("grant_type", "password"): "password",
    ("grant_type", "client_credentials"): "client_credentials",
    ("response_type", "code"): "authorization_code",
    ("response_type", "token"): "implicit",
}
WHERE = {"grant_type": "RFC 6749 §5.2", "response_type": "RFC 6749 §4.1.2.1, §4.2.2.1"}

Feature = tuple[str, str]  # (kind, value): ("grant_type", "password"), ("endpoint", "revocation_endpoint")


def describe(feature: Feature) -> str:
    kind, value = feature
    return value if kind == "endpoint" else f"{kind}={value}"


@dataclass
class Capabilities:
    """What one target offers. `offered` answers True, False, or None (not known yet)."""

    optional: Mapping[str, frozenset[str]]
    refusals: Mapping[str, tuple[str, ...]]
    metadata: Mapping[str, Any]
    metadata_url: str | None
    overrides: Mapping[str, Any]
    endpoints: Mapping[str, str]
    learned: dict[Feature, str] = field(default_factory=dict)  # not offered at all, and why
    unauthorized: dict[tuple[Feature, str], str] = field(default_factory=dict)  # (feature, client_id) -> why

    @classmethod
    def build(
        cls,
        spec: Mapping[str, Any] | None,
        metadata: Mapping[str, Any],
        metadata_url: str | None,
        overrides: Mapping[str, Any],
        endpoints: Mapping[str, str],
    ) -> Capabilities:
        spec = spec or {}
        optional = {kind: frozenset(values) for kind, values in (spec.get("optional") or {}).items()}
        refusals = {kind: tuple(codes) for kind, codes in (spec.get("refusals") or {}).items()}
        return cls(optional, refusals, metadata, metadata_url, overrides, endpoints)

    @property
    def enabled(self) -> bool:
        """Whether the profile has optional features at all (vendor profiles have none)."""
        return bool(self.optional)

    def is_optional(self, feature: Feature) -> bool:
        kind, value = feature
        return value in self.optional.get(kind, frozenset())

    def member(self, name: str) -> tuple[Any, str] | None:
        """An RFC 8414 member's value and where it came from: the config, else the metadata."""
        if name in self.overrides:
            return self.overrides[name], f"the config's capabilities.{name}"
        if name in self.metadata:
            return self.metadata[name], f"{name} in the target's metadata ({self.metadata_url})"
        return None

    def offered(self, feature: Feature) -> bool | None:
        kind, value = feature
        if not self.is_optional(feature):
            return True
        if feature in self.learned:
            return False
        if kind == "endpoint":
            if value in self.endpoints:
                return True
            declared = self.member(value)
            if declared is not None:
                return bool(declared[0])
            return False if self.metadata else None
        declared = self.member(MEMBERS.get(kind, ""))
        if declared is None or not isinstance(declared[0], list):
            return None
        return value in declared[0] or (kind == "response_type" and any(value in str(v).split() for v in declared[0]))

    def why_not(self, feature: Feature) -> str:
        """How the suite knows `feature` is not offered."""
        if feature in self.learned:
            return self.learned[feature]
        kind, value = feature
        if kind == "endpoint":
            declared = self.member(value)
            if declared is not None:
                return f"the target offers no {value} ({declared[1]})"
            return (
                f"the target's metadata ({self.metadata_url}) has no {value}, so it offers none "
                f"(set endpoints.{value} in the target config if it has one)"
            )
        declared = self.member(MEMBERS[kind])
        assert declared is not None
        return f"the target does not offer {describe(feature)}: {declared[1]} lists {declared[0]}"

    # -- before a request -------------------------------------------------------------------
    def gate(self, feature: Feature | None, client_id: str | None, client_key: str | None) -> None:
        """Raise NotApplicable if `feature` is known not to be offered (to this client)."""
        if feature is None or not self.enabled or not self.is_optional(feature):
            return
        if self.offered(feature) is False:
            raise NotApplicable(self.why_not(feature))
        if (feature, client_id or "") in self.unauthorized:
            raise NotApplicable(self.unauthorized[(feature, client_id or "")])
        kind, value = feature
        if kind == "endpoint" and self.offered(feature) is None:
            raise MissingPrerequisite(
                f"the target publishes no metadata naming its {value}: set endpoints.{value} in the target "
                f"config, or capabilities.{value}: false if it has none"
            )

    # -- after a request --------------------------------------------------------------------
    def learn(
        self, feature: Feature | None, client_id: str | None, client_key: str | None, code: ErrorCode | None
    ) -> None:
        """Read an RFC-coded refusal of `feature` as "not offered"; raise NotApplicable if it is one."""
        if feature is None or code is None or not self.enabled or not self.is_optional(feature):
            return
        kind = feature[0]
        if code not in self.refusals.get(kind, ()):
            return
        if code == "unauthorized_client":
            hint = f"set clients.{client_key} in the target config" if client_key else "configure a client for it"
            reason = (
                f"the target answered unauthorized_client to {describe(feature)} for client {client_id!r} "
                f"({WHERE.get(kind, 'RFC 6749 §5.2')}): that client is not registered for it; {hint} "
                "to a client that is"
            )
            self.unauthorized[(feature, client_id or "")] = reason
            raise NotApplicable(reason)
        if self.offered(feature) is True:
            return  # declared offered, yet refused: a violation the check will report
        reason = (
            f"the target answered {code} to {describe(feature)} ({WHERE.get(kind, '')}), "
            "which says it does not offer it"
        )
        self.learned[feature] = reason
        raise NotApplicable(reason)

    def summary(self) -> dict[str, Any]:
        """For reports: what is known to be offered and not, and why."""
        out: dict[str, Any] = {}
        for kind, values in self.optional.items():
            for value in sorted(values):
                state = self.offered((kind, value))
                out[describe((kind, value))] = {True: "offered", False: "not offered", None: "unknown"}[state]
        return out
