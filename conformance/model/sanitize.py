"""One sanitizer per output, for text that came from the target (issue 21).

A target chooses the bytes of its answers. Whatever of them the suite writes is first masked
(`masking.py`), then passed through the sanitizer of the output it goes to:

- terminal and text files: `visible` (or `one_line`) shows every C0/C1 control, ESC, DEL, bidi
  override or isolate, line separator and lone surrogate as an escape (`\\x1b`, `\\u202e`), so a
  `cat` of an evidence file or pytest's own terminal lines never obey the server;
- XML: `xml_text` replaces what XML 1.0 cannot hold (a file that no longer parses is a lost report);
- JSON: `json_text` escapes lone surrogates, which no UTF-8 writer can encode;
- HTML: escaping, done by the HTML writer itself (`report/html.py`);
- overlong values: `cut`, always after masking, so a secret is never cut in half before it is found.

Pure functions of `str`, importing nothing of the package, so every layer can use them.
"""

from __future__ import annotations

import re

# What a terminal acts on or a reader misreads: C0 controls but tab and newline, DEL, C1 controls,
# the bidi marks, embeddings, overrides and isolates, the Unicode line and paragraph separators,
# lone surrogates, and the noncharacters U+FFFE/U+FFFF (illegal in XML too).
_CONTROL = "\x00-\x08\x0b-\x1f\x7f-\x9f"
_FORMAT = "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff"
_UNSAFE_TEXT = re.compile(f"[{_CONTROL}{_FORMAT}]")
_UNSAFE_LINE = re.compile(f"[\t\n{_CONTROL}{_FORMAT}]")
# XML 1.0 §2.2: Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")

CUT_MARKER = "… [{n} more characters cut]"


def escape_char(char: str) -> str:
    """`\\x1b` for a character below U+0100, `\\u202e` above: readable, inert, unambiguous in kind."""
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _escape(match: re.Match[str]) -> str:
    return escape_char(match.group(0))


def visible(text: str) -> str:
    """For the terminal and text files: newlines and tabs stay, every other control is escaped."""
    return _UNSAFE_TEXT.sub(_escape, text)


def one_line(text: str) -> str:
    """For a reason or message shown on one line: newlines and tabs are escaped as well."""
    return _UNSAFE_LINE.sub(_escape, text)


def xml_text(text: str) -> str:
    """For XML text and attribute values: characters XML 1.0 forbids become escapes."""
    return _XML_ILLEGAL.sub(_escape, text)


def json_text(text: str) -> str:
    """For JSON written as UTF-8: lone surrogates (legal in JSON escapes, not in UTF-8) become escapes."""
    return _SURROGATE.sub(_escape, text)


def cut(text: str, limit: int) -> str:
    """`text` within `limit` characters plus a marker saying how much was cut (after masking only);
    never inside a mask's alias (`‹access_token#2›`), which would read as a half-shown secret."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    opened = head.rfind("‹")
    if opened > head.rfind("›"):
        head = head[:opened]
    return head + CUT_MARKER.format(n=len(text) - len(head))


def has_unsafe(text: str) -> bool:
    """Whether `text` holds anything `visible` would escape (for tests and safety passes)."""
    return _UNSAFE_TEXT.search(text) is not None
