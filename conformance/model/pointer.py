"""JSON pointers (RFC 6901) that also walk into strings holding JSON.

UserCenter's `result` is a JSON document inside a string; `/result/accessToken` reaches into it.
"""

from __future__ import annotations

import json
from typing import Any

MISSING: Any = object()


def resolve(document: Any, pointer: str) -> Any:
    """The value at `pointer`, or MISSING."""
    if pointer in ("", "/"):
        return document
    current = document
    for raw in pointer.lstrip("/").split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(current, str):
            try:
                current = json.loads(current)
            except (ValueError, RecursionError):  # JSON nested deeper than Python recurses: the target's
                return MISSING
        if isinstance(current, dict) and token in current:
            current = current[token]
        elif isinstance(current, list) and token.isdigit() and int(token) < len(current):
            current = current[int(token)]
        else:
            return MISSING
    return current
