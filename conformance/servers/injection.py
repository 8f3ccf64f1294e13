"""A correct reference server that puts attacker-chosen bytes in its answers (issue 21).

`Injecting` wraps any profile's app: it behaves as that server does, but every JSON object it
answers gains a `message` with markup, event handlers, `javascript:` URLs, ANSI/OSC sequences
(title, screen clear, OSC 8 link, OSC 52 clipboard write), C0/C1 controls, bidi overrides and a lone
surrogate, plus an echo of what the suite sent (form body, Authorization header, the client secret
followed by punctuation, URL- and Base64-spelled, and repeated so that some echo straddles every
cut), and an `error_description` that does the same.
Answers also carry a header with markup and a C1 control (uvicorn refuses C0 in headers; the raw
`hostile.py` server covers those). `InjectingState` issues access tokens named like the report's
own words (`pass`, `fail`, `verdict`, `name`, `testcase`, `</style>`, `"`).

With `codes=True` the error codes carry the payload too: the verdicts then fail, and their
messages carry it into every output.

For the project's tests only; it imports nothing of the package but the servers.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, quote_plus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conformance.servers.base import ServerState

ESC, BEL, ST = "\x1b", "\x07", "\x1b\\"
PAYLOAD = (
    "<script>document.title='pwned'</script><img src=x onerror=\"document.body.dataset.pwned=1\">"
    '<a href="javascript:alert(1)">x</a></style></pre></td></details>'
    f"{ESC}]0;pwned-title{BEL}{ESC}[2J{ESC}[31mred{ESC}[0m"
    f"{ESC}]8;;http://evil.example/{ST}click{ESC}]8;;{ST}"
    f"{ESC}]52;c;cHduZWQ={BEL}"
    "\x9b2J\x85\x00\x7f\u202egnp.exe\u2066\ud800"
)
HEADER_PAYLOAD = '<script>alert(1)</script> javascript:alert(2) \x9b2J "onerror=alert(3)'
# Access tokens named like the words of certification.json, junit.xml and summary.html.
REPORT_WORDS = ("pass", "fail", "verdict", "name", "testcase", "</style>", '"')


class InjectingState(ServerState):
    """Issues the report's own words as its first access tokens, then random ones as usual."""

    def __init__(self, profile: str, faults: Any) -> None:
        super().__init__(profile, faults)
        self._words: Iterator[str] = iter(REPORT_WORDS)

    def issue(self, kind: str, lifetime: float | None, prefix: str = "", **data: Any) -> str:
        if kind == "access_token":
            with self.lock:
                word = next(self._words, None)
            if word is not None and word not in self.grants:
                value = super().issue(kind, lifetime, prefix, **data)
                with self.lock:
                    self.grants[word] = self.grants.pop(value)
                return word
        return super().issue(kind, lifetime, prefix, **data)


def echoes(state: ServerState, sent: str, authorization: str) -> str:
    """What a careless server echoes: the request, and the client secret in several spellings."""
    client = state.client
    secret = client.client_secret
    basic = base64.b64encode(f"{quote_plus(client.client_id)}:{quote_plus(secret)}".encode()).decode()
    return (
        f" echo: {sent} | {authorization} | ({secret}.) '{secret}', {quote(secret, safe='')};"
        f" {quote_plus(secret)}! Basic {basic}. {json.dumps(secret)}"
    )


class Injecting:
    """ASGI middleware: the wrapped server's answers, with the payload and echoes injected."""

    def __init__(self, app: ASGIApp, state: ServerState, *, codes: bool = False) -> None:
        self.app = app
        self.state = state
        self.codes = codes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received: list[bytes] = []

        async def recording_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                received.append(message.get("body", b""))
            return message

        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await self._send(scope, start, b"".join(chunks), b"".join(received), send)
            else:
                await send(message)

        await self.app(scope, recording_receive, capture)

    async def _send(self, scope: Scope, start: dict[str, Any], raw: bytes, sent: bytes, send: Send) -> None:
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        request_headers = dict((k.lower(), v) for k, v in scope.get("headers", []))
        authorization = request_headers.get(b"authorization", b"").decode("latin-1")
        echo = echoes(self.state, sent.decode("utf-8", "replace"), authorization)
        ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"").decode("latin-1")
        if "json" in ctype:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if isinstance(body, dict):
                body["message"] = PAYLOAD + echo
                # The secret at every few characters across the first 4 KB and beyond: some occurrence
                # straddles the rendering's cut (2,000) and the client's kept bytes (4,096).
                secret = self.state.client.client_secret
                body["echoes"] = "".join(f"{secret}{'.' * (i % 3 + 1)}" for i in range(450))
                if "error" in body:
                    body["error_description"] = f"{body.get('error_description', '')} {PAYLOAD}{echo}"
                    if self.codes:
                        body["error"] = f"{body['error']}{PAYLOAD}"
                raw = json.dumps(body).encode()  # ensure_ascii: the lone surrogate travels as \\ud800
        secret = self.state.client.client_secret  # not the request's echo: uvicorn refuses controls in headers
        headers.append((b"x-injected", f"{HEADER_PAYLOAD} ({secret}.)".encode("latin-1", "replace")))
        headers.append((b"content-length", str(len(raw)).encode()))
        await send({"type": "http.response.start", "status": start.get("status", 200), "headers": headers})
        await send({"type": "http.response.body", "body": raw})
