"""A real OAuth 2.0 authorization server made of django-oauth-toolkit (DOT), for the interop tests.

Why: a second implementation this project did not write, configured as DOT's documentation shows
(dot_project/: INSTALLED_APPS with oauth2_provider, ``path("o/", include("oauth2_provider.urls"))``,
Django's login view in front of DOT's authorize view, DOT's defaults: PKCE required, refresh tokens
rotate, RFC 8414 metadata under the ``o/`` prefix). DOT registers one grant per application, so
there is one application per grant, plus a second authorization-code application for the
cross-client checks. All OAuth behaviour is DOT's (and oauthlib's); this module only creates the
database, the user and the applications, and serves Django's WSGI handler.

It runs in its own process, because Django's settings are global to a process:

    with DotServer() as server:                  # migrates a fresh sqlite database in a temp dir
        httpx.get(server.issuer + "/.well-known/oauth-authorization-server")

or by hand: ``python -m tests.interop.dot_server --db /tmp/dot`` (prints its URL on stdout).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import selectors
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

REPO = Path(__file__).resolve().parents[2]
SETTINGS = "tests.interop.dot_project.settings"
PREFIX = "/o"  # where urls.py mounts oauth2_provider.urls
REDIRECT_URI = "http://localhost/cb"
USERNAME = "alice"
PASSWORD = "wonderland"
SCOPE = "read write"
START_TIMEOUT = 60.0  # migrations included
STOP_TIMEOUT = 5.0

# One DOT application per grant: name -> (client_id, client_secret, client type, DOT grant type).
APPLICATIONS = {
    "authorization_code": ("dot-code", "dot-code-secret", "confidential", "authorization-code"),
    "second": ("dot-code-2", "dot-code-2-secret", "confidential", "authorization-code"),
    "implicit": ("dot-implicit", "", "public", "implicit"),
    "password": ("dot-password", "dot-password-secret", "confidential", "password"),
    "client_credentials": ("dot-service", "dot-service-secret", "confidential", "client-credentials"),
}


def _setup(db_dir: Path) -> None:
    """Configure Django, migrate a fresh database, create the user and the applications."""
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    os.environ["DOT_INTEROP_DB"] = str(db_dir / "db.sqlite3")
    import django
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    get_user_model().objects.create_user(USERNAME, password=PASSWORD)
    for name, (client_id, secret, client_type, grant) in APPLICATIONS.items():
        args = [client_type, grant, "--name", name, "--client-id", client_id]
        if secret:
            args += ["--client-secret", secret]
        if grant in ("authorization-code", "implicit"):
            args += ["--redirect-uris", REDIRECT_URI]
        call_command("createapplication", *args, stdout=io.StringIO())


def serve(db_dir: Path) -> None:
    """Set up, then serve on a free loopback port with Django's own (threaded) WSGI server; the
    first stdout line is JSON with the URL once the socket listens."""
    _setup(db_dir)
    from django.core.servers.basehttp import run
    from django.core.wsgi import get_wsgi_application

    def announce(port: int) -> None:
        print(json.dumps({"url": f"http://127.0.0.1:{port}", "pid": os.getpid()}), flush=True)

    run("127.0.0.1", 0, get_wsgi_application(), threading=True, on_bind=announce)


class DotServer:
    """Runs `serve` in a child process for one `with` block, and stops that process (by its PID) on
    exit. `url` is the origin, `issuer` the DOT prefix under it. The child's stderr (DOT's warnings,
    tracebacks) is kept in `log` and shown when the server fails to start."""

    def __init__(self, db_dir: Path | None = None, *, pkce_required: bool = True) -> None:
        self.pkce_required = pkce_required  # DOT's PKCE_REQUIRED (True is DOT's default)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if db_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="dot-interop-")
            db_dir = Path(self._tmp.name)
        db_dir.mkdir(parents=True, exist_ok=True)
        self.db_dir = db_dir
        self.log = db_dir / "server.log"
        self._process: subprocess.Popen[str] | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("DotServer is not running; use it in a `with` block")
        return self._url

    @property
    def issuer(self) -> str:
        return self.url + PREFIX

    def __enter__(self) -> DotServer:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
            "DOT_INTEROP_PKCE_REQUIRED": "1" if self.pkce_required else "0",
        }
        with self.log.open("w") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "tests.interop.dot_server", "--db", str(self.db_dir)],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        try:
            self._url = self._read_url(self._process)
        except BaseException:
            self._stop()
            raise
        return self

    def server_errors(self, known: tuple[str, ...] = ()) -> list[str]:
        """The requests DOT answered with a 500 so far (Django logs them on stderr, see settings.py),
        leaving out those whose logged traceback names one of the `known` findings."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        blocks = re.split(r"^(?=Internal Server Error:)", text, flags=re.M)
        return [
            line
            for block in blocks
            if not any(finding in block for finding in known)
            for line in block.splitlines()
            if line.startswith(("Internal Server Error:", "Traceback"))
        ]

    def _read_url(self, process: subprocess.Popen[str]) -> str:
        assert process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            while (left := deadline - time.monotonic()) > 0:
                if selector.select(timeout=min(left, 0.5)):
                    line = process.stdout.readline()
                    if line:
                        return str(json.loads(line)["url"])
                if process.poll() is not None:
                    break
        tail = self.log.read_text(errors="replace")[-4000:]
        raise RuntimeError(f"the DOT server did not start (exit {process.poll()}); its stderr:\n{tail}")

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()  # this child, by its PID; nothing else
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)
        if process.stdout is not None:
            process.stdout.close()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop()
        self._url = None
        if self._tmp is not None:
            self._tmp.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="directory for the sqlite database (must be new)")
    args = parser.parse_args()
    args.db.mkdir(parents=True, exist_ok=True)
    serve(args.db)


if __name__ == "__main__":
    main()
