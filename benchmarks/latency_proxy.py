"""A TCP proxy on loopback that adds network latency: a local server, seen as if it were far away.

Every byte from the client reaches the server `latency / 2` later, and every byte back reaches
the client `latency / 2` later, so each request-response exchange takes `latency` longer and a new
connection's first request one more `latency` (the handshake). Bytes are delayed, not throttled:
concurrent connections wait together, as they would on a real network.

Bounded everywhere: it listens on 127.0.0.1 only and forwards to a loopback address only; it takes
at most `max_connections` at once (others are closed at once, and counted); a connection idle for
`idle_timeout` seconds is closed; each direction buffers at most `max_chunks` chunks; and as a
script it stops after `--max-seconds`. It counts connections (total, refused, peak at once), which
is how a benchmark shows that a parallel run used a bounded number of them.

    python benchmarks/latency_proxy.py --upstream 127.0.0.1:8000 --latency-ms 25 --port 9000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import threading
import time
from dataclasses import dataclass

LOOPBACK = "127.0.0.1"


@dataclass
class Stats:
    connections: int = 0
    refused: int = 0
    open: int = 0
    peak: int = 0


class LatencyProxy:
    """Start it (`with LatencyProxy(...) as proxy:`), point clients at `proxy.port`."""

    def __init__(
        self,
        upstream_port: int,
        latency: float,
        *,
        upstream_host: str = LOOPBACK,
        port: int = 0,
        max_connections: int = 64,
        idle_timeout: float = 30.0,
        max_chunks: int = 256,
    ) -> None:
        if not ipaddress.ip_address(upstream_host).is_loopback:
            raise ValueError(f"upstream {upstream_host} is not a loopback address")
        self.upstream = (upstream_host, upstream_port)
        self.one_way = max(latency, 0.0) / 2
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.max_chunks = max_chunks
        self.stats = Stats()
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> LatencyProxy:
        self._thread = threading.Thread(target=self._run, name="latency-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the latency proxy did not start within 10 s")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> LatencyProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._server = loop.run_until_complete(asyncio.start_server(self._handle, LOOPBACK, self.port, backlog=128))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            tasks = list(asyncio.all_tasks(loop))
            for task in tasks:
                task.cancel()
            with contextlib.suppress(Exception):
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.close()

    # -- one connection --------------------------------------------------------------------------
    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        stats = self.stats
        if stats.open >= self.max_connections:
            stats.refused += 1
            client_writer.close()
            return
        stats.connections += 1
        stats.open += 1
        stats.peak = max(stats.peak, stats.open)
        upstream_writer = None
        try:
            await asyncio.sleep(2 * self.one_way)  # the handshake's round trip
            upstream_reader, upstream_writer = await asyncio.wait_for(
                asyncio.open_connection(*self.upstream), timeout=self.idle_timeout
            )
            await asyncio.gather(
                self._pipe(client_reader, upstream_writer),
                self._pipe(upstream_reader, client_writer),
            )
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            stats.open -= 1
            for writer in (client_writer, upstream_writer):
                if writer is not None:
                    with contextlib.suppress(Exception):
                        writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Forward one direction, each chunk `one_way` after it was read; ends on EOF or idleness."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(maxsize=self.max_chunks)

        async def deliver() -> None:
            while True:
                due, chunk = await queue.get()
                if not chunk:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(chunk)
                await writer.drain()
            with contextlib.suppress(Exception):
                writer.write_eof()

        sender = asyncio.ensure_future(deliver())
        try:
            while True:
                chunk = await asyncio.wait_for(reader.read(65536), timeout=self.idle_timeout)
                await queue.put((time.monotonic() + self.one_way, chunk))
                if not chunk:
                    break
        except (OSError, TimeoutError):
            await queue.put((0.0, b""))
        await asyncio.wait_for(sender, timeout=self.idle_timeout + self.one_way + 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", required=True, metavar="127.0.0.1:PORT")
    parser.add_argument("--latency-ms", type=float, default=25.0, help="added round trip per exchange")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-connections", type=int, default=64)
    parser.add_argument("--max-seconds", type=float, default=600.0, help="stop after this long (default 600)")
    args = parser.parse_args()
    host, _, port = args.upstream.rpartition(":")
    with LatencyProxy(
        int(port),
        args.latency_ms / 1000,
        upstream_host=host or LOOPBACK,
        port=args.port,
        max_connections=args.max_connections,
    ) as proxy:
        print(f"latency proxy: http://{LOOPBACK}:{proxy.port} -> {args.upstream} (+{args.latency_ms:g} ms)", flush=True)
        deadline = time.monotonic() + args.max_seconds
        with contextlib.suppress(KeyboardInterrupt):
            while time.monotonic() < deadline:
                time.sleep(min(1.0, max(deadline - time.monotonic(), 0)))
        print(f"connections {proxy.stats.connections}, peak {proxy.stats.peak}, refused {proxy.stats.refused}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
