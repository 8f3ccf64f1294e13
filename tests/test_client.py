"""TargetClient sends through httpx's transport, and still does what httpx.Client did for the suite:
its default headers, the cookies a login sets, the environment's proxies, a bad Location refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from conformance.model.config import TargetConfig
from conformance.model.errors import UnusableAnswer
from conformance.target.client import REQUEST_HEADERS, TargetClient


class Recorder(BaseHTTPRequestHandler):
    """Answers every request with 200 (or what the path asks for) and records what it was sent."""

    seen: ClassVar[list[tuple[str, dict[str, str]]]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        if self.path.endswith("/login"):
            self.send_response(200)
            self.send_header("Set-Cookie", "session=s-123; Path=/")
        elif self.path.endswith("/bad-location"):
            self.send_response(302)
            self.send_header("Location", "http://[::1")
        else:
            self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Recorder.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def test_httpx_default_headers_are_sent_and_given_ones_win(server: str) -> None:
    client = TargetClient(TargetConfig(target=server))
    client.send("GET", f"{server}/a", headers={"Accept": "application/json"})
    _, headers = Recorder.seen[-1]
    assert headers["accept"] == "application/json"
    assert headers["user-agent"] == REQUEST_HEADERS["user-agent"] and headers["accept-encoding"] == "gzip, deflate"


def test_the_cookies_an_answer_sets_go_with_the_next_requests(server: str) -> None:
    client = TargetClient(TargetConfig(target=server))
    first = client.send("GET", f"{server}/a")
    assert "cookie" not in Recorder.seen[-1][1] and first.body == b"ok"
    client.send("GET", f"{server}/login")
    client.send("GET", f"{server}/consent")
    assert Recorder.seen[-1][1]["cookie"] == "session=s-123"


def test_a_location_no_url_may_hold_is_the_targets_doing(server: str) -> None:
    client = TargetClient(TargetConfig(target=server))
    with pytest.raises(UnusableAnswer, match="has a Location no URL may hold"):
        client.send("GET", f"{server}/bad-location")
    assert client.breaker.consecutive_failures == 0  # it answered


def test_the_environments_proxy_is_used_and_no_proxy_is_honoured(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The recorder plays the proxy: a request through a proxy names its whole URL in the request line."""
    monkeypatch.setenv("HTTP_PROXY", server)
    TargetClient(TargetConfig(target="http://oauth.example.test")).send("GET", "http://oauth.example.test/token")
    assert Recorder.seen[-1][0] == "http://oauth.example.test/token"
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    TargetClient(TargetConfig(target=server)).send("GET", f"{server}/direct")
    assert Recorder.seen[-1][0] == "/direct"
