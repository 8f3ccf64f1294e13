"""A spec's `x-` keys and their values, checked when it loads: a typo is an error with its place.

OpenAPI lets any `x-` key through, so without this a misspelt `x-rol:` or `x-role: client-id` is
read as "no role" and the parameter silently drops out of every request. Each refusal names the
file, the line and column of the offending key or value, and the names that are known.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from conformance.model.errors import SpecError
from conformance.model.roles import FROM_TOKEN_RESPONSE, ROLES, TRANSFORM_NAMES, X_KEYS, known_role
from conformance.model.yaml_source import locate

# Values that are the document's own data (examples of answers): their keys are not the spec's.
_DATA_KEYS = frozenset({"example", "examples", "x-conformance", "default", "enum", "const"})
# Maps whose keys are names the document chose (a response field or header called `x-request-id`),
# not OpenAPI keywords: their keys are never extensions.
_NAME_MAPS = frozenset(
    {"properties", "patternProperties", "headers", "schemas", "encoding", "links", "variables", "mapping", "$defs"}
)
Step = str | int


def _walk(node: Any, path: tuple[Step, ...] = (), names: bool = False) -> Iterator[tuple[tuple[Step, ...], str, Any]]:
    """Every (path, key, value) whose key starts with `x-`, outside examples and x-conformance;
    `names`: the keys of `node` are names, not keywords."""
    if isinstance(node, dict):
        for key, value in node.items():
            if not names and isinstance(key, str) and key.startswith("x-"):
                yield (*path, key), key, value
            if key not in _DATA_KEYS:
                yield from _walk(value, (*path, str(key)), names=not names and key in _NAME_MAPS)
    elif isinstance(node, list):
        for n, item in enumerate(node):
            yield from _walk(item, (*path, n))


def problems(raw: Any) -> Iterator[tuple[tuple[Step, ...], bool, str]]:
    """(path, at the key rather than the value, what is wrong) for each unknown `x-` key or value."""
    for path, key, value in _walk(raw):
        if key not in X_KEYS:
            yield path, True, f"unknown key {key!r} (known x- keys: {', '.join(X_KEYS)})"
        elif key == "x-role" and not known_role(value):
            known = ", ".join((*ROLES, f"{FROM_TOKEN_RESPONSE} /POINTER"))
            yield path, False, f"unknown x-role {value!r} (known roles: {known})"
        elif key == "x-transform" and value not in TRANSFORM_NAMES:
            yield path, False, f"unknown x-transform {value!r} (known transforms: {', '.join(TRANSFORM_NAMES)})"


def check(path: Path, raw: Any, text: str) -> None:
    """Refuse the spec at its first unknown `x-` key or value, naming file, line and column."""
    for where, at_key, what in problems(raw):
        raise SpecError(f"spec {path}{_place(text, where, at_key)}: {what}")


def _place(text: str, where: Sequence[Step], at_key: bool) -> str:
    found = locate(text, where, key=at_key)
    return f", line {found[0]}, column {found[1]}" if found else ""
