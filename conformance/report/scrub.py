"""The last safety pass over what other plugins wrote, and the masking of report data.

The suite's own outputs (certification.json, summary.html, the evidence files) are built from
masked, sanitized data by their own serializers, so nothing here rewrites them. pytest's JUnit XML
and allure-pytest's results are written by those plugins from text the suite handed them (already
masked and sanitized at the source: verdict reasons, violation messages, `repr_failure`). The pass
below is a second net for those files, and it parses what it checks (issue 21): a file scrubbed as
raw text lets a token named `testcase`, `pass` or `verdict` rewrite a tag, a verdict or a key.

- JUnit XML is parsed with ElementTree; text, tails, `message` attributes and property values are
  masked and cleared of characters XML 1.0 forbids; tags and the other attributes (the suite's
  own node IDs, times, counts) are left alone; the tree is written back.
- allure results are loaded as JSON; only the fields that may carry the target's words (status
  details, descriptions, parameter values, the same in steps) are masked; labels, names, statuses
  and keys are the report's own and are never touched.
- A file that does not parse is left as it is: masking at the source already covered it, and a
  text rewrite is exactly the corruption this module exists to avoid.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from conformance.model.masking import Masker
from conformance.model.sanitize import json_text, xml_text

# allure result fields whose values may hold text that came from the target.
ALLURE_FREE_TEXT = frozenset({"statusDetails", "description", "descriptionHtml", "parameters"})


class Scrubber:
    """Masks report data and parses the files of other plugins to mask what they hold."""

    def __init__(self, masker: Masker) -> None:
        self.masker = masker

    def text(self, text: str) -> str:
        return self.masker.mask(text)

    def values(self, value: Any) -> Any:
        """JSON-like data with every string value masked; keys are the report's own and stay."""
        if isinstance(value, str):
            return json_text(self.masker.mask(value))
        if isinstance(value, Mapping):
            return {k: self.values(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.values(v) for v in value]
        return value

    def fields(self, value: Any, names: Collection[str]) -> Any:
        """JSON-like data with the values under keys in `names` masked (at any depth); the rest,
        keys included, is the report's own and stays as it is."""
        if isinstance(value, Mapping):
            return {k: self.values(v) if k in names else self.fields(v, names) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.fields(v, names) for v in value]
        return value

    # -- files written by other plugins ------------------------------------------------------
    def junit(self, path: Path) -> None:
        """Mask the text and messages of a JUnit XML file, parsed, and write it back."""
        try:
            tree = ElementTree.parse(path)
        except (ElementTree.ParseError, OSError):
            return
        for element in tree.iter():
            if element.text:
                element.text = xml_text(self.masker.mask(element.text))
            if element.tail:
                element.tail = xml_text(self.masker.mask(element.tail))
            for name in ("message", "value"):
                if name in element.attrib:
                    element.attrib[name] = xml_text(self.masker.mask(element.attrib[name]))
        tree.write(path, encoding="utf-8", xml_declaration=True)

    def allure(self, folder: Path) -> None:
        """Mask the free-text fields of every allure result and container in `folder`."""
        if not folder.is_dir():
            return
        for path in sorted(folder.glob("*.json")):
            with contextlib.suppress(OSError, ValueError):
                data = json.loads(path.read_text(encoding="utf-8"))
                masked = self._allure(data)
                if masked != data:
                    path.write_text(json.dumps(masked, ensure_ascii=False), encoding="utf-8")

    def _allure(self, value: Any) -> Any:
        if isinstance(value, Mapping):
            out = {}
            for key, item in value.items():
                if key in ALLURE_FREE_TEXT:
                    out[key] = self.values(item)
                elif key == "steps":
                    out[key] = [self._allure(step) for step in item] if isinstance(item, list) else item
                else:
                    out[key] = item
            return out
        return value
