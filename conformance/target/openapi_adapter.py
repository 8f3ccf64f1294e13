"""httpx → openapi-core: the Request/Response protocol adapters openapi-core has no contrib for."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from conformance.target.client import Reply


class SentRequest:
    """The request behind a reply, as openapi-core's `Request` protocol wants it."""

    def __init__(self, reply: Reply, *, url: str | None = None, method: str | None = None) -> None:
        """`url` and `method` stand in for the real ones when the operation was reached elsewhere
        (an endpoint from the target's metadata, or the last step of a login)."""
        exchange = reply.exchange
        parts = urlsplit(url or exchange.url)
        self.host_url = f"{parts.scheme}://{parts.netloc}"
        self.path = parts.path
        self.method = (method or exchange.method).lower()
        self.body: bytes | None = exchange.request_body.encode() or None
        self.content_type = exchange.request_headers.get("content-type", "").lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(parts.query, keep_blank_values=True)),
            header=Headers(dict(exchange.request_headers)),
        )


class ReceivedResponse:
    """A reply as openapi-core's `Response` protocol wants it."""

    def __init__(self, reply: Reply) -> None:
        self.status_code = reply.status
        self.content_type = reply.content_type.lower()
        self.headers = Headers(dict(reply.headers))
        self.data = reply.body
