"""Hostile targets: a raw TCP server that misbehaves in one chosen way, for the project's tests
(a run must end, within a bound, with a verdict and a report, whatever the target does).

Modes: `silent` (accepts, never answers), `slow` (answers after `delay` s), `close` (closes
without answering), `html500`, `html200`, `wrong_ctype`, `no_ctype`, `bad_utf8`, `huge`
(a 50 MB body), `deep` (JSON nested 100,000 levels), `redirect_loop`, `dies` (answers the first
request, then closes every connection: the circuit breaker's case); and what a server can put in
its answers to reach a terminal or a report (issue 21): `javascript_redirect` (a `Location:
javascript:` with an OSC 52 clipboard write in raw bytes), `bad_location` (a same-origin
Location with an ESC, which no URL may hold), `ansi` (raw ESC/BEL/C1 bytes in a header
and JSON-escaped ones, with a lone surrogate, in the error code), `huge_header` (a 64 KB header).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable

MODES = (
    "silent",
    "slow",
    "close",
    "html500",
    "html200",
    "wrong_ctype",
    "no_ctype",
    "bad_utf8",
    "huge",
    "deep",
    "redirect_loop",
    "dies",
    "javascript_redirect",
    "bad_location",
    "ansi",
    "huge_header",
)
# The modes of a target that answers, with content meant for a terminal or a report (issue 21).
ANSWER_MODES = ("javascript_redirect", "bad_location", "ansi", "huge_header")
# Raw bytes a terminal obeys: a title change, a screen clear, an OSC 8 link, an OSC 52 clipboard write.
ANSI = b"\x1b]0;pwned\x07\x1b[2J\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\\x1b]52;c;cHduZWQ=\x07\x9b2J"
HUGE_BYTES = 50 * 1024 * 1024
DEEP_LEVELS = 100_000


def _head(status: str, ctype: str | None, length: int, extra: str = "") -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Length: {length}", "Connection: close"]
    if ctype:
        lines.append(f"Content-Type: {ctype}")
    if extra:
        lines.append(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _simple(status: str, ctype: str | None, body: bytes, extra: str = "") -> bytes:
    return _head(status, ctype, len(body), extra) + body


class HostileServer:
    """Serves one misbehaviour on 127.0.0.1 from a background thread; a context manager."""

    def __init__(self, mode: str, delay: float = 20.0) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; known: {', '.join(MODES)}")
        self.mode = mode
        self.delay = delay
        self.port = 0
        self.requests = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> HostileServer:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(asyncio.start_server(self._handle, sock=sock), self._loop)
        self._server = future.result(timeout=5)
        return self

    def __exit__(self, *exc: object) -> None:
        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await reader.readuntil(b"\r\n\r\n")
            self.requests += 1
            await self._answer(request, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _answer(self, request: bytes, writer: asyncio.StreamWriter) -> None:
        handler: Callable[[bytes, asyncio.StreamWriter], Awaitable[None]] = getattr(self, f"_{self.mode}")
        await handler(request, writer)
        await writer.drain()

    async def _silent(self, request: bytes, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(3600)

    async def _slow(self, request: bytes, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(self.delay)
        writer.write(_simple("200 OK", "application/json", b"{}"))

    async def _close(self, request: bytes, writer: asyncio.StreamWriter) -> None:
        return None

    async def _html500(self, request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(_simple("500 Internal Server Error", "text/html", b"<html><h1>500</h1></html>"))

    async def _html200(self, request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(_simple("200 OK", "text/html", b"<html><body>Welcome</body></html>"))

    async def _wrong_ctype(self, request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(_simple("200 OK", "text/plain", b'{"access_token": "t", "expires_in": 1}'))

    async def _no_ctype(self, request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(_simple("200 OK", None, b'{"access_token": "t", "expires_in": 1}'))

    async def _bad_utf8(self, request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(_simple("200 OK", "application/json", b'{"access_token": "\xff\xfe\xfa"}'))

    async def _huge(self, request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(_head("200 OK", "application/json", HUGE_BYTES))
        chunk = b" " * (1024 * 1024)
        for _ in range(HUGE_BYTES // len(chunk)):
            writer.write(chunk)
            await writer.drain()

    async def _deep(self, request: bytes, writer: asyncio.StreamWriter) -> None:
        body = b"[" * DEEP_LEVELS + b"]" * DEEP_LEVELS
        writer.write(_simple("200 OK", "application/json", body))

    async def _dies(self, request: bytes, writer: asyncio.StreamWriter) -> None:
        if self.requests == 1:
            writer.write(_simple("200 OK", "text/html", b"<html>up</html>"))

    async def _redirect_loop(self, request: bytes, writer: asyncio.StreamWriter) -> None:
        path = request.split(b" ", 2)[1].decode("latin-1")
        writer.write(_simple("302 Found", "text/plain", b"", extra=f"Location: {self.url}{path}"))

    async def _javascript_redirect(self, request: bytes, writer: asyncio.StreamWriter) -> None:
        location = b"javascript:alert(document.cookie)//" + ANSI
        writer.write(
            _head("302 Found", "text/plain", 0).replace(b"\r\n\r\n", b"\r\nLocation: " + location + b"\r\n\r\n")
        )

    async def _bad_location(self, request: bytes, writer: asyncio.StreamWriter) -> None:
        location = b"/next\x1b[2J?code=" + ANSI
        writer.write(
            _head("302 Found", "text/plain", 0).replace(b"\r\n\r\n", b"\r\nLocation: " + location + b"\r\n\r\n")
        )

    async def _ansi(self, request: bytes, writer: asyncio.StreamWriter) -> None:
        body = (
            b'{"error": "invalid_grant\\u001b]0;pwned\\u0007\\u001b[2J\\ud800\\u009b2J\\u202e",'
            b' "error_description": "<script>alert(1)</script>\\u001b]52;c;cHduZWQ=\\u0007"}'
        )
        head = _head("400 Bad Request", "application/json", len(body))
        writer.write(head.replace(b"\r\n\r\n", b"\r\nX-Evil: " + ANSI + b"\r\n\r\n") + body)

    async def _huge_header(self, request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(_simple("200 OK", "application/json", b"{}", extra="X-Huge: " + "A" * 65536))
