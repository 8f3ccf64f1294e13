"""Where in a YAML file something is: the line and column a user's editor shows.

Specs and target configs are written by hand, so every error about them names the place: a syntax
error by the parser's mark, a misspelt key or value by the node it sits on. Files are parsed fast
(libyaml, no positions) and composed again, with positions, only when something must be located.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

_COMPOSER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def position(exc: yaml.YAMLError) -> str:
    """` at line L, column C: what the parser found`, from a YAML error's marks (1-based)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is None:
        return ""
    problem = " ".join(str(getattr(exc, "problem", "") or "").split())
    return f" at line {mark.line + 1}, column {mark.column + 1}" + (f": {problem}" if problem else "")


def locate(text: str, path: Sequence[str | int], *, key: bool = False) -> tuple[int, int] | None:
    """The 1-based (line, column) of the node at `path` (mapping keys and list indexes) in `text`;
    with `key`, of the last mapping key itself rather than its value. None when it is not there."""
    try:
        node: Any = yaml.compose(text, Loader=_COMPOSER)
    except yaml.YAMLError:
        return None
    found = node
    for n, step in enumerate(path):
        last = n == len(path) - 1
        if isinstance(node, yaml.MappingNode):
            pair = next((p for p in node.value if isinstance(p[0], yaml.ScalarNode) and p[0].value == str(step)), None)
            if pair is None:
                return None
            found, node = (pair[0] if key and last else pair[1]), pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
            found = node = node.value[step]
        else:
            return None
    return found.start_mark.line + 1, found.start_mark.column + 1
