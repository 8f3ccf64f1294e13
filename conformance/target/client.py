"""HTTP to the target: httpx with timeouts, a body cap, a request budget, a rate limit and a
circuit breaker; every exchange is recorded as evidence.

Requests go out through httpx's transport API (`HTTPTransport.handle_request`), not through an
`httpx.Client`: the suite never lets httpx follow a redirect, authenticate or run hooks, and the
client's layers for those, its request merging and its cookie extraction (on every answer, with or
without a Set-Cookie) made `Client.post` alone cost more CPU than this module's whole send, evidence
included (430-530 against 360-440 us against a local server, benchmarks/README.md). What the
client would do that the suite relies on is done here, with httpx's public types: its default
headers, the cookies of a login (`httpx.Cookies`), the timeouts, the environment's proxies
(HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY, read by the standard library), and the refusal of a
Location no URL may hold.

Transport problems become one-line `TargetError`s that say what happened and what to check.
"""

from __future__ import annotations

import json
import socket
import ssl
import statistics
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from conformance.model.config import TargetConfig
from conformance.model.errors import ConfigError, TargetError, TargetUnreachable, UnusableAnswer
from conformance.model.exchange import Exchange
from conformance.target.evidence import record

BREAKER_LIMIT = 3  # consecutive transport errors before the run gives up on the target
BODY_KEPT = 4096  # bytes of a response body kept as evidence
ROUND_TRIPS_KEPT = 64  # the last answers' times the round-trip estimate is the median of
LANES_KEPT = 64  # idle race connections kept for the next burst (a race has at most 32 racers)
# What the request the target's answer led to cannot be sent as: a URL that is no HTTP URL or has
# characters no URL may hold, a header value h11 refuses. The target's doing, not a transport error.
UNSENDABLE = (httpx.InvalidURL, httpx.UnsupportedProtocol, httpx.LocalProtocolError)
BAD_LOCATION = "Invalid URL in location header"  # as httpx.Client words its refusal of such an answer
REDIRECTS = frozenset({301, 302, 303, 307, 308})  # the statuses whose Location httpx reads as a URL
# What httpx.Client sends unless told otherwise, minus the encodings it may not decode here.
REQUEST_HEADERS = {
    "accept": "*/*",
    "accept-encoding": "gzip, deflate",
    "connection": "keep-alive",
    "user-agent": f"python-httpx/{httpx.__version__}",
}


@dataclass(frozen=True)
class Reply:
    """A response as the checks see it: the body read up to the cap, and the exchange behind it."""

    status: int
    headers: httpx.Headers
    body: bytes
    truncated: bool
    exchange: Exchange

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The decoded JSON body, or None when the body is not JSON."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):
            return None


def tls_context(config: TargetConfig) -> ssl.SSLContext | bool:
    """Verification on by default; `ca_bundle` trusts a private CA; `insecure` turns it off."""
    if config.insecure:
        return False
    if config.ca_bundle:
        try:
            return ssl.create_default_context(cafile=config.ca_bundle)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"ca_bundle {config.ca_bundle}: cannot load it ({exc}); give a PEM file of CA certificates"
            ) from None
    return True


_TLS_CONTEXTS: dict[tuple[bool, str | None], ssl.SSLContext] = {}
_TLS_LOCK = threading.Lock()


def shared_tls_context(config: TargetConfig) -> ssl.SSLContext:
    """One TLS context per (insecure, ca_bundle) in the process: loading the CA bundle takes about
    25 ms, and every session of every deciding thread, and every race lane, has connections of its own."""
    key = (config.insecure, config.ca_bundle)
    with _TLS_LOCK:
        context = _TLS_CONTEXTS.get(key)
        if context is None:
            context = _TLS_CONTEXTS[key] = httpx.create_ssl_context(tls_context(config))
        return context


class Budget:
    """Request count and rate for a whole run, shared by every client of the run."""

    def __init__(self, max_requests: int, rate: float | None) -> None:
        self.max_requests = max_requests
        self.rate = rate
        self.used = 0
        self._last_sent = 0.0
        self._lock = threading.Lock()

    def spend(self, count: int = 1) -> None:
        """Admit `count` requests. A burst (a race's requests, sent together) waits as long as that many
        requests one after another would, so the run's average rate never exceeds `rate`."""
        with self._lock:
            if self.used + count > self.max_requests:
                raise TargetError(
                    f"request budget exhausted: max_requests={self.max_requests} (raise it in the config)"
                )
            if self.rate:
                wait = self._last_sent + count / self.rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            self._last_sent = time.monotonic()
            self.used += count


class Breaker:
    """The circuit breaker of one target, shared by every client that talks to it (one per thread
    when requirements are decided concurrently), so "N requests in a row failed" counts them all."""

    def __init__(self) -> None:
        self.consecutive_failures = 0
        self.last_error = ""
        self._lock = threading.Lock()

    def failed(self, error: str) -> None:
        with self._lock:
            self.consecutive_failures += 1
            self.last_error = error

    def succeeded(self) -> None:
        with self._lock:
            self.consecutive_failures = 0

    def admit(self) -> None:
        """TargetUnreachable once BREAKER_LIMIT requests in a row failed: the run stops asking."""
        with self._lock:
            failures, last = self.consecutive_failures, self.last_error
        if failures >= BREAKER_LIMIT:
            raise TargetUnreachable(
                f"target unreachable: {failures} requests in a row failed (the last: {last}); the run stopped asking"
            )


@dataclass
class Lane:
    """One way to the target: keep-alive connections of its own (an httpx transport per route: direct,
    or through the environment's proxy for that host) and the cookies its answers set."""

    verify: ssl.SSLContext
    cookies: httpx.Cookies = field(default_factory=httpx.Cookies)
    _routes: dict[tuple[str, str], httpx.HTTPTransport] = field(default_factory=dict)

    def transport_for(self, url: httpx.URL) -> httpx.HTTPTransport:
        """The transport for `url`'s scheme and host: the proxy the environment names for it, or none."""
        key = (url.scheme, url.host)
        transport = self._routes.get(key)
        if transport is None:
            proxies = urllib.request.getproxies()
            proxy = proxies.get(url.scheme) or proxies.get("all")
            if proxy and urllib.request.proxy_bypass(url.host):
                proxy = None
            if proxy and "://" not in proxy:  # HTTP_PROXY=host:port, as httpx reads it
                proxy = f"http://{proxy}"
            transport = httpx.HTTPTransport(
                verify=self.verify,
                proxy=proxy or None,
                # TCP_NODELAY: without it, headers and body in two writes wait out delayed ACKs (~40 ms each).
                socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            )
            self._routes[key] = transport
        return transport

    def close(self) -> None:
        routes, self._routes = self._routes, {}
        for transport in routes.values():
            transport.close()


class TargetClient:
    """Sends requests for one target; each exchange goes to the recorder of the requirement being decided."""

    def __init__(self, config: TargetConfig, budget: Budget | None = None, breaker: Breaker | None = None) -> None:
        self.config = config
        self.budget = budget or Budget(config.max_requests, config.rate)
        self.breaker = breaker or Breaker()  # the target's: shared by the clients of every thread
        self._verify = shared_tls_context(config)
        self._timeout = httpx.Timeout(config.timeout, connect=config.connect_timeout).as_dict()
        self._http = Lane(self._verify)
        self.requests_made = 0
        self._seq = 0
        self._lock = threading.Lock()  # a burst's requests finish on several threads
        self._round_trips: deque[float] = deque(maxlen=ROUND_TRIPS_KEPT)
        self._idle_lanes: list[Lane] = []  # race connections between bursts (Burst)

    @property
    def consecutive_failures(self) -> int:
        return self.breaker.consecutive_failures

    def round_trip_ms(self) -> float | None:
        """The median time the target took to answer, over its last ROUND_TRIPS_KEPT answers: how long
        one request is in flight, so how far apart two racers may start and still overlap at the
        target (checks/properties/race_shapes.py). None before the first answer."""
        with self._lock:
            kept = list(self._round_trips)
        return statistics.median(kept) if kept else None

    @property
    def last_error(self) -> str:
        return self.breaker.last_error

    def close(self) -> None:
        self._http.close()
        with self._lock:
            lanes, self._idle_lanes = self._idle_lanes, []
        for lane in lanes:
            lane.close()

    def _take_lanes(self, count: int) -> list[Lane]:
        """`count` connections of their own for a burst: idle ones from earlier bursts first (already
        connected, so no racer waits on a handshake the others skipped), new ones for the rest."""
        with self._lock:
            taken, self._idle_lanes = self._idle_lanes[:count], self._idle_lanes[count:]
        return taken + [Lane(self._verify) for _ in range(count - len(taken))]

    def _give_back_lanes(self, lanes: list[Lane]) -> None:
        with self._lock:
            self._idle_lanes.extend(lanes)
            surplus, self._idle_lanes = self._idle_lanes[LANES_KEPT:], self._idle_lanes[:LANES_KEPT]
        for lane in surplus:
            lane.close()

    def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        raw_body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        self._admit(method, url)
        request, exchange = self._stage(
            self._http, method, url, params=params, form=form, json_body=json_body, raw_body=raw_body, headers=headers
        )
        return self._transmit(self._http, request, exchange, url)

    def burst(self, count: int) -> Burst:
        """`count` requests to send together, each over a connection of its own (see Burst)."""
        return Burst(self, count)

    def _stage(
        self,
        lane: Lane,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        raw_body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[httpx.Request, Exchange]:
        """The request built and its exchange recorded (in the order requests are staged)."""
        sent = dict(REQUEST_HEADERS)
        if headers:
            sent.update((name.lower(), value) for name, value in headers.items())
        try:
            request = httpx.Request(
                method,
                url,
                params=params or None,
                data=form,
                json=json_body,
                content=raw_body,
                headers=sent,
                extensions={"timeout": self._timeout},
            )
            if lane.cookies.jar:
                lane.cookies.set_cookie_header(request)
        except (httpx.InvalidURL, ValueError) as exc:  # ValueError: UnicodeEncodeError of a header value
            raise UnusableAnswer(self._unsendable(exc, method, url)) from None
        with self._lock:
            self._seq += 1
            seq = self._seq
        exchange = Exchange(
            seq=seq,
            method=method,
            url=str(request.url),
            request_headers={
                k.lower(): v for k, v in request.headers.items() if k.lower() in ("content-type", "authorization")
            },
            request_body=request.content.decode("utf-8", "replace"),
        )
        record(exchange)
        return request, exchange

    def _transmit(self, lane: Lane, request: httpx.Request, exchange: Exchange, url: str) -> Reply:
        """Send a staged request and read its answer; safe to call from several threads at once."""
        method = request.method
        exchange.started_at = time.time()
        started = time.monotonic()
        try:
            response = lane.transport_for(request.url).handle_request(request)
            response.request = request
            try:
                body, truncated = self._read_capped(response)
            finally:
                response.close()
            if "set-cookie" in response.headers:
                lane.cookies.extract_cookies(response)
        except UNSENDABLE as exc:
            exchange.elapsed_ms = (time.monotonic() - started) * 1000
            exchange.ended_at = time.time()
            exchange.error = self._unsendable(exc, method, url)
            raise UnusableAnswer(exchange.error) from None  # nothing was sent: the breaker stays as it is
        except httpx.DecodingError as exc:
            exchange.elapsed_ms = (time.monotonic() - started) * 1000
            exchange.ended_at = time.time()
            where = f"{method} {urlsplit(url).path or '/'}"
            exchange.error = f"the answer to {where} cannot be decoded as its Content-Encoding says ({exc})"
            self.breaker.succeeded()  # it answered
            raise UnusableAnswer(exchange.error) from None
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, exchange, started, method, url) from None
        exchange.elapsed_ms = (time.monotonic() - started) * 1000
        exchange.ended_at = time.time()
        self.breaker.succeeded()  # it answered
        bad_location = _bad_location(request, response)
        if bad_location is not None:
            where = f"{method} {urlsplit(url).path or '/'}"
            exchange.error = f"the answer to {where} has a Location no URL may hold ({bad_location})"
            raise UnusableAnswer(exchange.error)
        with self._lock:
            self._round_trips.append(exchange.elapsed_ms)
        exchange.status = response.status_code
        exchange.response_headers = {k.lower(): v for k, v in response.headers.items()}
        exchange.response_body = body[:BODY_KEPT].decode("utf-8", "replace")
        exchange.body_cut = truncated or len(body) > BODY_KEPT
        return Reply(response.status_code, response.headers, body, truncated, exchange)

    def _admit(self, method: str, url: str, count: int = 1) -> None:
        """Budget, rate limit and circuit breaker, checked before anything is sent."""
        self.breaker.admit()
        self.budget.spend(count)
        with self._lock:
            self.requests_made += count

    def _read_capped(self, response: httpx.Response) -> tuple[bytes, bool]:
        """The body, decoded, up to `max_body` bytes (and whether it was cut). Without a
        Content-Encoding the bytes are read as they come (httpx's decoding layers add nothing)."""
        chunks: list[bytes] = []
        size = 0
        encoded = "content-encoding" in response.headers
        for chunk in response.iter_bytes() if encoded else response.iter_raw():
            chunks.append(chunk)
            size += len(chunk)
            if size > self.config.max_body:
                return b"".join(chunks)[: self.config.max_body], True
        return b"".join(chunks), False

    def _transport_error(
        self, exc: httpx.HTTPError, exchange: Exchange, started: float, method: str, url: str
    ) -> TargetError:
        """The target could not be talked to: recorded, counted for the circuit breaker, explained."""
        exchange.elapsed_ms = (time.monotonic() - started) * 1000
        exchange.ended_at = time.time()
        exchange.error = self._explain(exc, method, url)
        self.breaker.failed(exchange.error)
        return TargetError(exchange.error)

    @staticmethod
    def _unsendable(exc: Exception, method: str, url: str) -> str:
        """One line: the request could not be made, and why (the URL or value came from the target)."""
        text = (str(exc) or type(exc).__name__).splitlines()[0]
        return f"could not send {method} {url[:200]!r}: {type(exc).__name__}: {text[:300]}"

    def _explain(self, exc: httpx.HTTPError, method: str, url: str) -> str:
        parts = urlsplit(url)
        where = f"{method} {parts.path or '/'}"
        host = parts.netloc
        text = str(exc) or type(exc).__name__
        if isinstance(exc, httpx.ConnectTimeout):
            return (
                f"could not connect to {host} within {self.config.connect_timeout:g} s "
                "(connect timeout; check the --target URL and the network)"
            )
        if isinstance(exc, httpx.ReadTimeout):
            return (
                f"target did not answer {where} within {self.config.timeout:g} s "
                "(read timeout; raise timeout in the config or check the server)"
            )
        if isinstance(exc, httpx.TimeoutException):
            return (
                f"target timed out on {where} ({type(exc).__name__}; raise timeout in the config or check the server)"
            )
        if isinstance(exc, httpx.ConnectError):
            lowered = text.lower()
            if (
                "name or service" in lowered
                or "nodename" in lowered
                or "name resolution" in lowered
                or "resolve" in lowered
            ):
                return f"cannot resolve host {parts.hostname} (DNS lookup failed; check the --target URL)"
            if "certificate" in lowered or "ssl" in lowered:
                detail = text.splitlines()[0]
                return f"TLS handshake with {host} failed ({detail}; set ca_bundle in the config for a private CA)"
            if "refused" in lowered:
                return f"connection to {host} refused (is the server running, and is the --target URL right?)"
            return f"cannot connect to {host} ({text.splitlines()[0]}; check the --target URL)"
        if isinstance(exc, httpx.RemoteProtocolError):
            return f"target closed the connection on {where} without a valid answer ({text.splitlines()[0]})"
        return f"HTTP error on {where}: {type(exc).__name__}: {text.splitlines()[0]}"


def _bad_location(request: httpx.Request, response: httpx.Response) -> str | None:
    """Why a redirect's Location is no URL, if it is not (httpx.Client refused such an answer with
    the same words); the target's doing, not a transport error."""
    if response.status_code not in REDIRECTS or "location" not in response.headers:
        return None
    try:
        request.url.join(response.headers["location"])
    except httpx.InvalidURL as exc:
        return f"{BAD_LOCATION}: {exc}."
    return None


class Burst:
    """Requests sent together: admitted at once (budget, rate and circuit breaker count every one of
    them), each staged and recorded before any is sent, each sent over a connection of its own (a
    `Lane`, with its own pool), so the target sees them inside one scheduling window.

    `stage(i, ...)` prepares request i on the caller's thread; `fire(i)` sends it and may run on any
    thread. Closing the burst gives the connections whose request was answered (or failed) back to
    the owner for the next burst; one still in flight (a racer given up on) is closed.
    """

    def __init__(self, owner: TargetClient, count: int) -> None:
        owner._admit("burst", "", count)
        self.owner = owner
        self._lanes = owner._take_lanes(count)
        self._staged: list[tuple[httpx.Request, Exchange, str] | None] = [None] * count
        self._finished = [False] * count

    def __len__(self) -> int:
        return len(self._lanes)

    def stage(
        self,
        lane: int,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        raw_body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Exchange:
        request, exchange = self.owner._stage(
            self._lanes[lane],
            method,
            url,
            params=params,
            form=form,
            json_body=json_body,
            raw_body=raw_body,
            headers=headers,
        )
        self._staged[lane] = (request, exchange, url)
        return exchange

    def fire(self, lane: int) -> Reply:
        staged = self._staged[lane]
        if staged is None:
            raise TargetError(f"burst request {lane} was never staged")
        request, exchange, url = staged
        try:
            return self.owner._transmit(self._lanes[lane], request, exchange, url)
        finally:
            self._finished[lane] = True

    def close(self) -> None:
        finished = [lane for lane, done in zip(self._lanes, self._finished, strict=True) if done]
        for lane, done in zip(self._lanes, self._finished, strict=True):
            if not done:
                lane.close()
        self.owner._give_back_lanes(finished)

    def __enter__(self) -> Burst:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
