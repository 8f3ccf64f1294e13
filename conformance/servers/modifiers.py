"""Faults that only alter an answer, applied in one place.

A reference server's behavioural faults (a code accepted twice, a token that never expires) live in
its handlers, because they change what the server *does*. A fault that only changes what an answer
*looks like* (a missing field or header, a field of the wrong type, a wrong status, a flattened
envelope) is a response modifier instead, as in Schemathesis's faulty apps or pytest-httpserver's
hooks: the profile module declares `MODIFIERS = {fault: modifier}` and `ResponseModifiers` applies
the modifiers of the faults that are on to every answer, so the handlers stay correct servers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conformance.servers.base import ServerState


@dataclass
class Answer:
    """An answer about to leave the server, open to modification."""

    path: str
    status: int
    headers: dict[str, str]  # lower-case names
    body: Any  # the decoded JSON body, or None when it is not JSON
    now: float  # the server's clock

    @property
    def is_error(self) -> bool:
        return self.status >= 400 or (isinstance(self.body, dict) and "error" in self.body)


Modifier = Callable[[Answer], None]


def _parent(body: Any, pointer: str) -> tuple[Any, str]:
    *path, last = pointer.strip("/").split("/")
    node = body
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node, last


def drop(pointer: str) -> Modifier:
    """Leave out the field at `pointer`."""

    def modify(answer: Answer) -> None:
        node, key = _parent(answer.body, pointer)
        if isinstance(node, dict):
            node.pop(key, None)

    return modify


def rename(pointer: str, new: str) -> Modifier:
    """Spell the field at `pointer` as `new`."""

    def modify(answer: Answer) -> None:
        node, key = _parent(answer.body, pointer)
        if isinstance(node, dict) and key in node:
            node[new] = node.pop(key)

    return modify


def change(pointer: str, how: Callable[[Any, Answer], Any]) -> Modifier:
    """Replace the value at `pointer` by `how(value, answer)`."""

    def modify(answer: Answer) -> None:
        node, key = _parent(answer.body, pointer)
        if isinstance(node, dict) and key in node:
            node[key] = how(node[key], answer)

    return modify


def unwrap(key: str) -> Modifier:
    """Send the object under `key` as the whole body (a flattened envelope)."""

    def modify(answer: Answer) -> None:
        if isinstance(answer.body, dict) and isinstance(answer.body.get(key), dict):
            answer.body = answer.body[key]

    return modify


def drop_headers(*names: str) -> Modifier:
    def modify(answer: Answer) -> None:
        for name in names:
            answer.headers.pop(name.lower(), None)

    return modify


def errors_with_status(status: int) -> Modifier:
    """Answer every error with `status` (an error answered 200, say)."""

    def modify(answer: Answer) -> None:
        if answer.is_error:
            answer.status = status

    return modify


def on_path(suffix: str, modifier: Modifier) -> Modifier:
    """Apply `modifier` only to answers of paths ending in `suffix`."""

    def modify(answer: Answer) -> None:
        if answer.path.endswith(suffix):
            modifier(answer)

    return modify


class ResponseModifiers:
    """ASGI middleware: the modifiers of the faults that are switched on, applied to each answer.

    With no such fault on, answers pass through untouched (and unbuffered)."""

    def __init__(self, app: ASGIApp, state: ServerState, modifiers: Mapping[str, Modifier]) -> None:
        unknown = set(modifiers) - set(state.known_faults)
        if unknown:
            raise ValueError(f"{state.profile}: modifiers for undeclared faults {sorted(unknown)}")
        self.app = app
        self.state = state
        self.modifiers = dict(modifiers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        active = [m for fault, m in self.modifiers.items() if fault in self.state.faults]
        if scope["type"] != "http" or not active:
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await self._send_modified(scope, start, b"".join(chunks), active, send)
            else:
                await send(message)

        await self.app(scope, receive, capture)

    async def _send_modified(
        self, scope: Scope, start: dict[str, Any], raw: bytes, active: list[Modifier], send: Send
    ) -> None:
        pairs = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in start.get("headers", [])]
        names = [k for k, _ in pairs]
        repeated = [(k, v) for k, v in pairs if names.count(k) > 1]  # Set-Cookie: passed on as they are
        headers = {k: v for k, v in pairs if names.count(k) == 1}
        body: Any = None
        if "json" in headers.get("content-type", ""):
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        answer = Answer(scope.get("path", ""), int(start.get("status", 200)), headers, body, self.state.clock.now())
        for modifier in active:
            modifier(answer)
        if answer.body is not None:
            raw = json.dumps(answer.body, ensure_ascii=False).encode()
        answer.headers["content-length"] = str(len(raw))
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [
                    (k.encode("latin-1"), v.encode("latin-1")) for k, v in [*answer.headers.items(), *repeated]
                ],
            }
        )
        await send({"type": "http.response.body", "body": raw})
