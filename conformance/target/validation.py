"""Response validation: openapi-core against the spec, then the JSON that hides inside strings
(`contentMediaType: application/json` + `contentSchema`), which openapi-core leaves alone.
"""

from __future__ import annotations

import copy
import json
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

from jsonschema import Draft202012Validator
from openapi_core import OpenAPI

from conformance.model.errors import SpecError
from conformance.model.spec import Operation, Profile
from conformance.target.client import Reply
from conformance.target.openapi_adapter import ReceivedResponse, SentRequest

# Answers remembered with their problems: a run gets the same error body for the same operation
# hundreds of times (every refused code of a property), and openapi-core takes about a millisecond
# to validate one. Only small bodies are kept, and only this many answers.
CACHED_ANSWERS = 4096
CACHED_BODY_BYTES = 4096
AnswerKey = tuple[str, str, int, tuple[tuple[str, str], ...], bytes]


class ResponseValidator:
    """Validates replies of one profile's target against its spec.

    Shared by the threads that decide requirements concurrently: building one costs a copy and a
    parse of the spec, and validation is CPU work that the GIL runs one at a time anyway, so a lock
    (openapi-core does not promise thread safety) costs nothing."""

    def __init__(self, profile: Profile, base_url: str) -> None:
        raw = copy.deepcopy(dict(profile.raw))
        raw["servers"] = [{"url": base_url.rstrip("/")}]
        self._base_url = base_url.rstrip("/")
        self._raw = raw
        self._lock = threading.Lock()
        self._known: OrderedDict[AnswerKey, list[str]] = OrderedDict()  # least recently used first
        self._headers_read: dict[tuple[str, str], tuple[str, ...]] = {}
        try:
            self._openapi = OpenAPI.from_dict(raw)
        except Exception as exc:  # openapi-core raises several unrelated types for a bad document
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SpecError(f"spec {profile.path.name} is not valid OpenAPI: {first}") from None

    def problems(self, reply: Reply, operation: Operation) -> list[str]:
        """Every way the reply departs from the spec, as short human-readable lines. An answer
        already validated for the same operation (same status, body and the headers the spec
        reads) gets the same lines without validating it again."""
        with self._lock:
            key = self._key(reply, operation)
            if key is None:
                return self._problems(reply, operation)
            known = self._known.get(key)
            if known is None:
                known = self._known[key] = self._problems(reply, operation)
                if len(self._known) > CACHED_ANSWERS:
                    self._known.popitem(last=False)
            else:
                self._known.move_to_end(key)
            return list(known)

    def _key(self, reply: Reply, operation: Operation) -> AnswerKey | None:
        """What validation reads of an answer, or None for one not worth remembering (a large or
        cut body, usually one carrying fresh tokens that never repeat)."""
        if reply.truncated or len(reply.body) > CACHED_BODY_BYTES:
            return None
        names = self._header_names(operation)
        headers = tuple((name, reply.headers.get(name, "")) for name in names)
        return (operation.path, operation.method, reply.status, headers, reply.body)

    def _header_names(self, operation: Operation) -> tuple[str, ...]:
        """The response headers the spec declares for the operation (any status), and Content-Type."""
        where = (operation.path, operation.method)
        if where not in self._headers_read:
            item = self._raw.get("paths", {}).get(operation.path, {})
            responses = (item.get(operation.method.lower()) or {}).get("responses", {})
            declared = {
                name.lower()
                for response in responses.values()
                for name in _deref(response, self._raw).get("headers", {})
            }
            self._headers_read[where] = ("content-type", *sorted(declared - {"content-type"}))
        return self._headers_read[where]

    def _problems(self, reply: Reply, operation: Operation) -> list[str]:
        if reply.truncated:
            return [f"body larger than the {len(reply.body)}-byte cap; not validated"]
        # Operations found through metadata live at other URLs; a login ends on another method.
        url = self._base_url + operation.path if operation.endpoint else None
        request = SentRequest(reply, url=url, method=operation.method)
        try:
            found = [_describe(e) for e in self._openapi.iter_response_errors(request, ReceivedResponse(reply))]
        except RecursionError:
            return ["body nested too deeply to validate"]
        if not found:
            body = reply.json()
            if body is not None:
                found.extend(_embedded_json_problems(self._schema_for(reply, operation), body, self._raw))
        return found

    def _schema_for(self, reply: Reply, operation: Operation) -> Mapping[str, Any]:
        responses = self._raw["paths"][operation.path][operation.method.lower()].get("responses", {})
        response = _deref(responses.get(str(reply.status)) or responses.get("default") or {}, self._raw)
        media: Mapping[str, Any] = next(iter(response.get("content", {}).values()), {})
        return media.get("schema", {})


def _describe(error: Exception) -> str:
    cause = error.__cause__
    schema_errors = getattr(cause, "schema_errors", None)
    if schema_errors:
        details = "; ".join(
            f"{'/'.join(str(p) for p in e.absolute_path) or 'body'}: {e.message}" for e in schema_errors
        )
        return f"{type(error).__name__}: {details}"
    return f"{type(error).__name__}: {error}".rstrip(": ")


def _deref(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    while isinstance(schema, Mapping) and "$ref" in schema:
        target: Any = root
        for part in str(schema["$ref"]).lstrip("#/").split("/"):
            target = target[part]
        schema = target
    return schema


def _embedded_json_problems(
    schema: Mapping[str, Any], value: Any, root: Mapping[str, Any], at: str = ""
) -> Iterator[str]:
    schema = _deref(schema, root)
    if not isinstance(schema, Mapping):
        return
    if isinstance(value, str) and schema.get("contentMediaType") == "application/json" and "contentSchema" in schema:
        try:
            inner = json.loads(value)
        except (ValueError, RecursionError):  # JSON nested deeper than Python recurses: the target's
            yield f"{at or 'body'}: documented as a string holding JSON, but it is not JSON"
            return
        validator = Draft202012Validator(_inline(schema["contentSchema"], root))
        for error in validator.iter_errors(inner):
            path = "/".join(str(p) for p in error.absolute_path)
            yield f"{at}/(json){('/' + path) if path else ''}: {error.message}"
        return
    if isinstance(value, dict):
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                yield from _embedded_json_problems(sub, value[name], root, f"{at}/{name}")
    for sub in schema.get("allOf", []):
        yield from _embedded_json_problems(sub, value, root, at)
    for key in ("oneOf", "anyOf"):
        # Only the branches the value matches (contentSchema is an annotation to jsonschema).
        for sub in schema.get(key, []):
            if Draft202012Validator(_inline(sub, root)).is_valid(value):
                yield from _embedded_json_problems(sub, value, root, at)


def _inline(schema: Any, root: Mapping[str, Any]) -> Any:
    """Resolve `#/components/...` references so jsonschema can validate the fragment alone."""
    if isinstance(schema, Mapping):
        schema = _deref(schema, root)
        return {k: _inline(v, root) for k, v in schema.items() if not k.startswith("x-")}
    if isinstance(schema, list):
        return [_inline(v, root) for v in schema]
    return schema
