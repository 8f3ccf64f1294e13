"""Run reference servers in-process on a real ASGI server (uvicorn) bound to an ephemeral port."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterable

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from conformance.servers.base import ServerState
from conformance.servers.modifiers import ResponseModifiers
from conformance.servers.registry import load


class Latency:
    """ASGI middleware: wait before answering each HTTP request (concurrent requests wait together)."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await asyncio.sleep(self.seconds)
        await self.app(scope, receive, send)


class ReferenceServer:
    """Serve the given profiles under `/<profile>` on 127.0.0.1; usable as a context manager."""

    def __init__(
        self,
        profiles: Iterable[str],
        port: int = 0,
        tls: tuple[str, str] | None = None,
        latency: float = 0.0,
        *,
        state_type: type[ServerState] = ServerState,
        wrap: Callable[[ASGIApp, ServerState], ASGIApp] | None = None,
    ) -> None:
        """`tls` = (certificate chain file, private key file) serves HTTPS instead of HTTP; `latency`
        (seconds) delays every answer, as a server across a network (or a slow one) would.
        `state_type` and `wrap` make a variant of every server, for the project's tests: a state
        that issues chosen values, a middleware that rewrites answers (injection.py)."""
        self.states: dict[str, ServerState] = {}
        mounts = []
        for profile in profiles:
            module = load(profile)
            state = state_type(profile, module.FAULTS)
            self.states[profile] = state
            app: ASGIApp = ResponseModifiers(module.build(state), state, getattr(module, "MODIFIERS", {}))
            if wrap is not None:
                app = wrap(app, state)
            mounts.append(Mount(f"/{profile}", app=app))
        self.app = Starlette(routes=mounts)
        if latency > 0:
            self.app.add_middleware(Latency, seconds=latency)
        self._port = port
        self._tls = tls
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def url(self, profile: str) -> str:
        scheme = "https" if self._tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}/{profile}"

    def start(self) -> ReferenceServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by accepted sockets
        sock.bind(("127.0.0.1", self._port))
        self.port = sock.getsockname()[1]
        certfile, keyfile = self._tls or (None, None)
        config = uvicorn.Config(
            self.app, log_level="critical", access_log=False, lifespan="off", ssl_certfile=certfile, ssl_keyfile=keyfile
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("reference server did not start within 10 s")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> ReferenceServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
