"""Scripted login and consent at the authorization endpoint, without a browser.

Like the OpenID conformance suite's browser steps, the target config lists steps; each has a
`match` (a regex the page must contain) and a `form` (the fields to fill in). The page's form is
parsed, its other fields (hidden CSRF tokens, say) are kept, the step's fields are added and the
form is submitted, with cookies kept by the HTTP client. Same-origin redirects are followed, at
most MAX_HOPS times; the run stops at a redirect to another origin (the client's redirect_uri).

    login:
      - match: 'name="password"'
        form: {username: "{username}", password: "{password}"}
      - match: '(?i)<form'                       # any other page with a form: the consent page
        press: '(?i)allow|approve|accept|authori[sz]e|yes|confirm|consent'

`press` presses the submit button whose label or value matches (its name and value are sent);
`form` fills in fields. A step may have both.

A field value may name config values in braces ({username}, {password}, {client_id}) or be
`{regex: '...'}`, whose first group is taken from the page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

from conformance.model.errors import MissingPrerequisite, PreconditionFailed
from conformance.target.client import Reply

MAX_HOPS = 10
Send = Callable[..., Reply]


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)  # every field name, buttons included
    buttons: list[tuple[str, str, str]] = field(default_factory=list)  # (name, value, label) of submit buttons
    inputs: list[tuple[str, str]] = field(default_factory=list)  # (name, type) of every named field, in order

    @property
    def password_field(self) -> str | None:
        """The first password input: what init's login skeleton fills with the password."""
        return next((n for n, t in self.inputs if t == "password"), None)

    @property
    def user_field(self) -> str | None:
        """The first text or e-mail input: what init's login skeleton fills with the username."""
        return next((n for n, t in self.inputs if t in {"text", "email", ""} and n), None)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._current: Form | None = None
        self._button = False  # inside a <button>: its text is part of its label

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = Form(a.get("action", ""), a.get("method", "get").upper())
            self.forms.append(self._current)
        elif tag in {"input", "button", "select", "textarea"} and self._current is not None and a.get("name"):
            name = a["name"]
            self._current.names.add(name)
            default = "submit" if tag == "button" else ("text" if tag == "input" else tag)
            self._current.inputs.append((name, a.get("type", default).lower()))
            kind = a.get("type", "submit" if tag == "button" else "text").lower()
            if kind in {"submit", "button", "image"}:
                # a button's value is sent only when the step presses it
                self._current.buttons.append((name, a.get("value", ""), a.get("value", "") or a.get("title", "")))
                self._button = tag == "button"
                return
            if kind == "reset":
                return
            if kind in {"checkbox", "radio"} and "checked" not in a:
                return
            self._current.fields.setdefault(name, a.get("value", ""))

    def handle_data(self, data: str) -> None:
        if self._button and self._current is not None and self._current.buttons and data.strip():
            name, value, label = self._current.buttons[-1]
            self._current.buttons[-1] = (name, value, f"{label} {data.strip()}".strip())

    def handle_endtag(self, tag: str) -> None:
        if tag == "button":
            self._button = False
        if tag == "form":
            self._current = None


def forms(page: str) -> list[Form]:
    """The forms of an HTML page (the one form reader: login steps and init's probe both use it)."""
    parser = _Forms()
    parser.feed(page)
    return parser.forms


def _value(raw: Any, page: str, values: Mapping[str, str | None]) -> str:
    if isinstance(raw, dict) and "regex" in raw:
        match = re.search(str(raw["regex"]), page)
        if match is None:
            raise PreconditionFailed(f"login: the page has nothing matching {raw['regex']!r}")
        return match.group(1) if match.groups() else match.group(0)
    text = str(raw)
    for key, value in values.items():
        if "{" + key + "}" in text:
            if value is None:
                raise MissingPrerequisite(f"login step uses {{{key}}}: set {key} in the target config")
            text = text.replace("{" + key + "}", value)
    return text


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def _button(form: Form, press: re.Pattern[str]) -> tuple[str, str] | None:
    """The (name, value) of the form's first submit button whose label or value matches `press`."""
    for name, value, label in form.buttons:
        if press.search(label) or press.search(value):
            return name, value
    return None


def complete(send: Send, reply: Reply, steps: tuple[Mapping[str, Any], ...], values: Mapping[str, str | None]) -> Reply:
    """Follow the authorization request through login and consent until it leaves the target."""
    for _ in range(MAX_HOPS):
        url = reply.exchange.url
        if 300 <= reply.status < 400 and "location" in reply.headers:
            location = urljoin(url, reply.headers["location"])
            if _origin(location) != _origin(url):
                return reply  # back to the client (or somewhere else): the result of the flow
            reply = send("GET", location)
            continue
        page = reply.text
        step = next((s for s in steps if re.search(str(s.get("match", "")), page)), None)
        if step is None:
            return reply  # a page no step handles: an error page, or the target's own answer
        given = step.get("form") or {}
        wanted = {str(k) for k in given}
        candidates = forms(page)
        press = re.compile(str(step["press"])) if step.get("press") else None
        form = next(
            (f for f in candidates if (press and _button(f, press)) or wanted & f.names),
            candidates[0] if candidates else None,
        )
        if form is None:
            raise PreconditionFailed(f"login step matching {step.get('match')!r}: the page has no form")
        fields = {**form.fields, **{str(k): _value(v, page, values) for k, v in given.items()}}
        if press is not None:
            button = _button(form, press)
            if button is None:
                raise PreconditionFailed(
                    f"login step matching {step.get('match')!r}: no button matches {press.pattern!r}"
                )
            fields[button[0]] = button[1]
        action = urljoin(url, str(step.get("action") or form.action or url))
        reply = send("POST", action, form=fields) if form.method == "POST" else send("GET", action, params=fields)
    raise PreconditionFailed(f"login did not finish within {MAX_HOPS} pages or redirects; check the login steps")
