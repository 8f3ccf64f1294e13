"""The tokens one grant issued, with the reply that carried them."""

from __future__ import annotations

from dataclasses import dataclass

from conformance.target.client import Reply


@dataclass(frozen=True)
class Tokens:
    access_token: str | None
    refresh_token: str | None
    reply: Reply
    flow: str | None = None  # the flow that issued them
