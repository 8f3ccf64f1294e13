"""Masking on the way to disk: everything the report writes goes through one `Scrubber`.

The runtime's `Masker` masks raw text. Files written by other plugins (pytest's JUnit XML,
allure-pytest's results) take the text before it is masked (allure stores `exconly()` of the
violation, for instance) and may escape it (`&amp;`, `&quot;`), so the files are scrubbed again
once the run is over, when the masker has learned every code and token the suite saw. JSON is
masked string by string, so a masked value can never swallow an escaped quote and break the file.
"""

from __future__ import annotations

import contextlib
import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from conformance.model.masking import Masker


class Scrubber:
    """Masks strings, nested data and files with the run's masker."""

    def __init__(self, masker: Masker) -> None:
        self.masker = masker
        self._variants: dict[str, str] = {}
        self._known = -1

    def text(self, text: str) -> str:
        text = self.masker.mask(text)
        for escaped, alias in self._escaped_variants().items():
            if escaped in text:
                text = text.replace(escaped, alias)
        return text

    def data(self, value: Any) -> Any:
        """JSON-like data with every string (keys included) masked; the same object when nothing changes."""
        dumped = json.dumps(value, ensure_ascii=False)
        if self.text(dumped) == dumped:
            return value
        return self._data(value)

    def _data(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(str(k)): self._data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._data(v) for v in value]
        return value

    def file(self, path: Path) -> None:
        """Mask a text file in place; binary files (screenshots, say) are left alone."""
        try:
            original = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            return
        masked = self.text(original)
        if masked == original:
            return
        if path.suffix == ".json":
            with contextlib.suppress(ValueError):  # not JSON after all: the text mask stands
                masked = json.dumps(self._data(json.loads(original)), ensure_ascii=False)
        path.write_text(masked, encoding="utf-8")

    def tree(self, root: Path) -> None:
        if root.is_file():
            self.file(root)
            return
        for path in sorted(root.rglob("*")):
            if path.is_file():
                self.file(path)

    def _escaped_variants(self) -> dict[str, str]:
        """Secrets as XML or HTML escaping writes them, mapped to their escaped alias (cached)."""
        secrets = self.masker.secrets()
        if len(secrets) != self._known:
            variants: dict[str, str] = {}
            for secret in secrets:
                forms = {html.escape(secret), html.escape(secret, quote=False), xml_escape(secret, {'"': "&quot;"})}
                forms.discard(secret)
                if forms:
                    alias = html.escape(self.masker.mask(secret), quote=False)
                    for escaped in forms:
                        variants.setdefault(escaped, alias)
            self._variants = dict(sorted(variants.items(), key=lambda kv: len(kv[0]), reverse=True))
            self._known = len(secrets)
        return self._variants
