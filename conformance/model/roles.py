"""The vocabulary a spec may use on its parameters: `x-role` values, `x-transform` names, `x-` keys.

Kept in the model so that a spec is checked against it when it loads (conformance/model/extensions.py):
a misspelt `x-role: client-id` would otherwise leave the parameter out of every request, and the
requirement it feeds would be decided on a request the document never describes. The target layer
(conformance/target/request_builder.py) fills values by these names and implements these transforms;
tests/test_specs.py checks the two lists agree.
"""

from __future__ import annotations

from collections.abc import Mapping

# Taken from the target config (a client's own, or the top level's).
CONFIG_ROLES = ("client_id", "client_secret", "redirect_uri", "username", "password", "scope")
CLIENT_ROLES = ("client_id", "client_secret", "redirect_uri")
# Every x-role, with what it means (specs/README.md says the same, for spec authors).
ROLES: Mapping[str, str] = {
    "client_id": "the config's client_id (of the client for the flow's grant)",
    "client_secret": "the config's client_secret",
    "redirect_uri": "the config's redirect_uri",
    "username": "the config's username (the test user)",
    "password": "the config's password",
    "scope": "the config's scope (left out when unset)",
    "code": "a fresh authorization / verify / validate code, one per request",
    "access_token": "the access token in hand (from the profile's token_source flow)",
    "refresh_token": "the refresh token in hand",
    "state": "a fresh random state",
    "expire_days": "the parameter's schema example (the days a token should last)",
    "param": "the config's params, by the parameter's name",
    "code_challenge": "PKCE (RFC 7636): the challenge the suite chose",
    "code_challenge_method": "PKCE: the method of that challenge (S256)",
    "code_verifier": "PKCE: the verifier of the code's challenge",
}
# A value carried between calls: `from-token-response /openid` is the field at that JSON pointer of
# the answer that issued the tokens in hand (WeChat's openid, passed to every later call).
FROM_TOKEN_RESPONSE = "from-token-response"


def carried_pointer(role: str | None) -> str | None:
    """The JSON pointer of a `from-token-response /POINTER` role; None for any other role."""
    kind, _, pointer = (role or "").partition(" ")
    return pointer.strip() if kind == FROM_TOKEN_RESPONSE and pointer.strip().startswith("/") else None


def known_role(role: object) -> bool:
    return isinstance(role, str) and (role in ROLES or carried_pointer(role) is not None)


# x-transform names: applied to a role's value before it is sent (hex digests of its UTF-8 bytes).
TRANSFORM_NAMES = ("md5-hex", "sha1-hex", "sha256-hex", "sha512-hex")
# The `x-` keys a spec may hold, with where they go; any other `x-` key is refused as a typo.
X_KEYS: Mapping[str, str] = {
    "x-conformance": "the top level: flows, dialect, requirements (specs/README.md)",
    "x-endpoint": "an operation: the RFC 8414 metadata field that gives its URL",
    "x-role": "a parameter or body property: what its value is",
    "x-transform": "a parameter or body property: applied to the role's value before sending",
    "x-line": "a parameter, body or response property: the document line that defines it",
    "x-aliases": "a parameter or body property: other spellings the document uses for it",
}
