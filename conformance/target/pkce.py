"""PKCE (RFC 7636) in the suite's own requests, wherever the target declares it.

RFC 9700 §2.1.1 has clients use PKCE, and a server may require it (RFC 7636 §4.4.1: a request
without code_challenge gets invalid_request). So where the target declares
`code_challenge_methods_supported` (its metadata, or the config's `capabilities`), an authorization
request that names no code_challenge gets one the suite chose, and the exchange of the code it
gives carries the matching code_verifier. A check that sets a code_challenge itself keeps its own
verifier; one that asks for a code without PKCE (`code_challenge: OMIT`) gets one without.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from conformance.model.spec import Flow
from conformance.target.capabilities import PKCE_METHODS, Capabilities
from conformance.target.code_source import CodeOrigin
from conformance.target.request_builder import OMIT


def s256(verifier: str) -> str:
    """The S256 code_challenge of a verifier (RFC 7636 §4.2)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class Pkce:
    def __init__(self, capabilities: Callable[[], Capabilities]) -> None:
        self._capabilities = capabilities  # read when first needed: the metadata is fetched lazily
        self._verifiers: dict[str, str] = {}  # code_challenge -> the verifier the suite chose

    def parameters(self) -> tuple[dict[str, str], str] | None:
        """A fresh code_challenge (and its method) with its verifier; None when the target does not
        declare PKCE. S256 where offered, else plain."""
        caps = self._capabilities()
        declared = caps.member(PKCE_METHODS) if caps.enabled else None
        methods = declared[0] if declared is not None and isinstance(declared[0], list) else []
        method = "S256" if "S256" in methods else "plain" if "plain" in methods else None
        if method is None:
            return None
        verifier = secrets.token_urlsafe(48)
        challenge = s256(verifier) if method == "S256" else verifier
        self._verifiers[challenge] = verifier
        return {"code_challenge": challenge, "code_challenge_method": method}, verifier

    def verifier(self, challenge: str) -> str | None:
        """The verifier of a code_challenge the suite chose itself."""
        return self._verifiers.get(challenge)

    def additions(
        self,
        flow: Flow,
        values: Mapping[str, Any],
        overrides: Mapping[str, Any],
        origins: Mapping[str, CodeOrigin],
    ) -> dict[str, Any]:
        """What PKCE adds to a request of `flow`: a code_challenge to an authorization request that
        names none; the code's code_verifier to a token request for a code the suite asked PKCE for."""
        by_role = {p.role: n for n, p in flow.operation.params.items() if p.role}
        added: dict[str, Any] = {}

        def unset(name: str) -> bool:
            return name not in overrides and name not in flow.values and values.get(name, OMIT) is OMIT

        challenge = by_role.get("code_challenge")
        if challenge and unset(challenge):
            fresh = self.parameters()
            if fresh is not None:
                added[challenge] = fresh[0]["code_challenge"]
                if "code_challenge_method" in by_role:
                    added[by_role["code_challenge_method"]] = fresh[0]["code_challenge_method"]
        verifier = by_role.get("code_verifier")
        code = next((v for n, v in values.items() if flow.operation.params[n].role == "code"), None)
        if verifier and unset(verifier) and isinstance(code, str):
            origin = origins.get(code)
            if origin is not None and origin.verifier:
                added[verifier] = origin.verifier
        return added
