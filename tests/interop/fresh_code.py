"""A code_command for the interop servers, written to the code source contract (README, "The code
source contract"): it reads the authorization request the suite wants from the OAUTH2_* environment
variables, sends it to the server's authorization endpoint, signs in and approves on the server's
own login and consent pages (as a person with a browser would, without one), and prints a JSON
object with the code and the authorization request parameters it sent:

    code_command: "python tests/interop/fresh_code.py http://127.0.0.1:PORT/oauth/authorize --username alice"

The password comes from FRESH_CODE_PASSWORD in the environment (the suite passes its environment on
to a code_command), so it is not on a command line. Bounded: at most MAX_REQUESTS requests, each with
a timeout, within DEADLINE seconds (the suite gives a code_command 30 s); same-origin redirects only.
With FRESH_CODE_LOG set, it appends the names of the parameters it sent to that file, one JSON line
per code. It exits 1, saying why on stderr, when the server refuses the request (the redirect
carries `error`: it then prints {"error": ..., "error_description": ...}, the contract's refusal)
or a page is neither a login nor a consent form.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx

# The authorization request parameters the suite sets (conformance.target.code_source.CODE_ENV).
PARAMETERS = ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method")
MAX_REQUESTS = 8  # authorize, login page, login, authorize again, consent: 5 on Authlib and on DOT
DEADLINE = 25.0  # seconds for the whole exchange, under the suite's 30 s for a code_command
TIMEOUT = httpx.Timeout(5.0, connect=3.0)
APPROVE = re.compile(r"(?i)\b(allow|authori[sz]e|approve|accept)\b")
DECLINE = re.compile(r"(?i)\b(deny|cancel|decline|reject)\b")
USER_FIELD = re.compile(r"(?i)user|login|email")


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)  # hidden and pre-filled inputs
    text: list[str] = field(default_factory=list)  # names of text-like inputs
    password: list[str] = field(default_factory=list)  # names of password inputs
    buttons: list[tuple[str, str, str]] = field(default_factory=list)  # (name, value, label)


class _Forms(HTMLParser):
    """The forms of a page: their action, method, inputs and submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._button: list[str] | None = None  # name, value, label of the <button> being read

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower()))
        elif not self.forms:
            return
        elif tag == "input":
            kind, name, value = a.get("type", "text").lower(), a.get("name", ""), a.get("value", "")
            form = self.forms[-1]
            if kind == "submit":
                form.buttons.append((name, value, value))
            elif kind == "password":
                form.password.append(name)
            elif kind in ("text", "email") and name:
                form.text.append(name)
                if value:
                    form.fields[name] = value
            elif name and kind not in ("checkbox", "radio", "button", "reset", "image", "file"):
                form.fields[name] = value
        elif tag == "button" and a.get("type", "submit").lower() == "submit":
            self._button = [a.get("name", ""), a.get("value", ""), ""]

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button[2] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None and self.forms:
            name, value, label = self._button
            self.forms[-1].buttons.append((name, value, label.strip()))
        if tag == "button":
            self._button = None


def _log(sent: dict[str, str]) -> None:
    """With FRESH_CODE_LOG set, one JSON line per code there: the names of the parameters sent (no
    values), so a test can see that the suite took its codes from here, and which it asked for."""
    if path := os.environ.get("FRESH_CODE_LOG"):
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps(sorted(sent)) + "\n")


def _fail(message: str) -> int:
    print(f"fresh_code: {message}", file=sys.stderr)
    return 1


def _submission(form: Form, username: str, password: str) -> dict[str, str] | None:
    """What to post: the login form filled in, or the consent form with its approve button pressed."""
    data = dict(form.fields)
    if form.password:
        data |= dict.fromkeys(form.password, password)
        data |= {name: username for name in form.text if USER_FIELD.search(name)}
        return data
    for name, value, label in form.buttons:
        words = f"{name} {value} {label}"
        if APPROVE.search(words) and not DECLINE.search(words):
            return data | ({name: value} if name else {})
    return None


def fresh_code(authorize_url: str, username: str, password: str) -> int:
    wanted = {p: os.environ[f"OAUTH2_{p.upper()}"] for p in PARAMETERS if os.environ.get(f"OAUTH2_{p.upper()}")}
    origin = urlsplit(authorize_url)[:2]
    deadline = time.monotonic() + DEADLINE
    with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client:
        url = authorize_url + ("&" if "?" in authorize_url else "?") + urlencode(wanted)
        reply = client.get(url)
        for _ in range(MAX_REQUESTS - 1):
            if time.monotonic() > deadline:
                return _fail(f"no code within {DEADLINE:.0f} s")
            if reply.is_redirect:
                location = urljoin(str(reply.url), reply.headers["location"])
                if urlsplit(location)[:2] == origin:
                    reply = client.get(location)
                    continue
                query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
                if "error" in query:  # the contract's refusal: the suite reads it as the endpoint's
                    print(json.dumps({k: query[k] for k in ("error", "error_description") if k in query}))
                    return _fail(f"the server refused the authorization request: {query}")
                if "code" not in query:
                    return _fail(f"redirected off the server without a code: {location}")
                if query.get("state") != wanted.get("state"):
                    return _fail(f"the redirect's state {query.get('state')!r} is not the one sent")
                print(json.dumps({"code": query["code"], **wanted}))
                _log(wanted)
                return 0
            if reply.status_code != 200 or "html" not in reply.headers.get("content-type", ""):
                return _fail(f"{reply.url} answered HTTP {reply.status_code}, not a login or consent page")
            parser = _Forms()
            parser.feed(reply.text)
            chosen = next(((f, d) for f in parser.forms if (d := _submission(f, username, password)) is not None), None)
            if chosen is None:
                return _fail(f"{reply.url} has no login form and no approve button")
            form, data = chosen
            target = urljoin(str(reply.url), form.action) if form.action else str(reply.url)
            if urlsplit(target)[:2] != origin:
                return _fail(f"a form posts off the server, to {target}")
            reply = client.post(target, data=data) if form.method == "post" else client.get(target, params=data)
    return _fail(f"no code after {MAX_REQUESTS} requests")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("authorize_url", help="the server's authorization endpoint")
    parser.add_argument("--username", required=True)
    args = parser.parse_args(argv)
    password = os.environ.get("FRESH_CODE_PASSWORD")
    if not password:
        return _fail("set FRESH_CODE_PASSWORD to the resource owner's password")
    try:
        return fresh_code(args.authorize_url, args.username, password)
    except httpx.HTTPError as exc:
        return _fail(f"{type(exc).__name__}: {exc}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
