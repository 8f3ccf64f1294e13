"""A real OAuth 2.0 authorization server made of Authlib, for the interop tests.

Why: the suite must be shown to work against an implementation this project did not write. All
OAuth behaviour (grants, PKCE, client authentication, revocation, introspection, errors) is
Authlib's; this module only keeps data in memory, renders the login and consent forms and wires
the Flask routes. Run it with ``python -m tests.interop.authlib_server`` or as a context manager:

    with AuthlibServer() as server:
        httpx.get(server.url + "/.well-known/oauth-authorization-server")
"""

from __future__ import annotations

import html
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin, grants
from authlib.oauth2.rfc6749.util import list_to_scope, scope_to_list
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from flask import Flask, Response, got_request_exception, redirect, request, session
from flask.typing import ResponseReturnValue
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

CLIENT_ID = "app-1"
CLIENT_SECRET = "secret-1"
# A second confidential client, registered like the first, for the cross-client checks (the
# config's clients.second): a code or refresh token issued to one must not serve the other.
SECOND_CLIENT_ID = "app-2"
SECOND_CLIENT_SECRET = "secret-2"
REDIRECT_URI = "http://localhost/cb"
USERNAME = "alice"
PASSWORD = "wonderland"
SCOPES = ("read", "write")
AUTH_METHODS = ("client_secret_basic", "client_secret_post")
TOKEN_LIFETIME = 3600
CODE_LIFETIME = 300  # what Authlib's own SQLAlchemy code model allows a code

#: The hidden per-page tokens of the login and consent forms (first group is the value).
LOGIN_CSRF_PATTERN = r'name="csrf" value="([^"]+)"'
CONSENT_CSRF_PATTERN = r'name="consent_csrf" value="([^"]+)"'


def _same(expected: str, given: str) -> bool:
    """Constant-time string comparison that also takes non-ASCII input (secrets.compare_digest
    raises TypeError on non-ASCII str, which a client may well send)."""
    return secrets.compare_digest(expected.encode(), given.encode())


@dataclass(frozen=True)
class User:
    """The resource owner; Authlib itself only calls `get_user_id`."""

    user_id: int
    username: str
    password: str

    def get_user_id(self) -> int:
        return self.user_id


@dataclass(frozen=True)
class Client(ClientMixin):
    """A registered confidential client: the lookups Authlib's ClientMixin asks for."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    grant_types: frozenset[str]
    response_types: frozenset[str]
    scope: str

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""  # as Authlib's SQLAlchemy client model: no scope asked, none granted
        allowed = set(self.scope.split())
        return str(list_to_scope([s for s in scope_to_list(scope) if s in allowed]))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return _same(self.client_secret, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """Both secret methods everywhere. "none" only matters to Authlib's ImplicitGrant, which asks
        for it at the authorization endpoint; no token grant or endpoint here offers "none"."""
        return method in (*AUTH_METHODS, "none")

    def check_response_type(self, response_type: str) -> bool:
        return response_type in self.response_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass(frozen=True)
class AuthorizationCode(AuthorizationCodeMixin):
    """An issued code; Authlib's CodeChallenge reads `code_challenge` and its method from it."""

    code: str
    client_id: str
    redirect_uri: str | None
    scope: str
    user: User
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: float = field(default_factory=time.time)

    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return self.auth_time + CODE_LIFETIME < time.time()


@dataclass(eq=False)
class Token(TokenMixin):
    """One token string (access or refresh), so introspection and revocation see that token alone.

    `sibling` links the access and refresh token of one token response.
    """

    value: str
    kind: str  # "access_token" or "refresh_token"
    client_id: str
    user: User | None
    token_type: str
    scope: str
    expires_at: int | None  # None: Authlib's bearer generator gives refresh tokens no lifetime
    issued_at: int = field(default_factory=lambda: int(time.time()))
    revoked: bool = False
    sibling: Token | None = field(default=None, repr=False)

    def check_client(self, client: Client) -> bool:
        return self.client_id == client.client_id

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at < time.time()

    def is_revoked(self) -> bool:
        return self.revoked


class Store:
    """Everything one server instance knows; nothing is shared between instances."""

    def __init__(self, implicit: bool = True) -> None:
        # Registered as Authlib's docs register a client (client_id, client_secret, redirect_uris,
        # grant_types, response_types, scope), both with every grant on offer.
        self.clients: dict[str, Client] = {
            client_id: Client(
                client_id=client_id,
                client_secret=secret,
                redirect_uris=(REDIRECT_URI,),
                grant_types=frozenset(grant_types(implicit)),
                response_types=frozenset(response_types(implicit)),
                scope=" ".join(SCOPES),
            )
            for client_id, secret in ((CLIENT_ID, CLIENT_SECRET), (SECOND_CLIENT_ID, SECOND_CLIENT_SECRET))
        }
        self.users: dict[str, User] = {USERNAME: User(1, USERNAME, PASSWORD)}
        self.codes: dict[str, AuthorizationCode] = {}
        self.tokens: dict[str, Token] = {}  # by token string; hints are not needed to find one

    def save_token(self, token: Mapping[str, Any], oauth_request: Any) -> None:
        """Authlib's `save_token` hook: keep the token response it generated."""
        now = int(time.time())
        common = {
            "client_id": oauth_request.client.client_id,
            "user": oauth_request.user,
            "token_type": token["token_type"],
            "scope": token.get("scope", ""),
            "issued_at": now,
        }
        expires_in = token.get("expires_in")
        access = Token(
            token["access_token"], "access_token", expires_at=now + expires_in if expires_in else None, **common
        )
        self.tokens[access.value] = access
        if refresh_value := token.get("refresh_token"):
            access.sibling = Token(refresh_value, "refresh_token", expires_at=None, sibling=access, **common)
            self.tokens[refresh_value] = access.sibling


class _Server(AuthorizationServer):
    """Authlib's Flask server, carrying this instance's store to the grants and endpoints."""

    def __init__(self, app: Flask, store: Store, rotate_refresh_tokens: bool) -> None:
        self.store = store
        self.rotate_refresh_tokens = rotate_refresh_tokens
        super().__init__(app, query_client=store.clients.get, save_token=store.save_token)


class _CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)
    server: _Server

    def save_authorization_code(self, code: str, oauth_request: Any) -> None:
        data = oauth_request.payload.data
        self.server.store.codes[code] = AuthorizationCode(
            code=code,
            client_id=oauth_request.client.client_id,
            redirect_uri=oauth_request.payload.redirect_uri,
            scope=oauth_request.scope,
            user=oauth_request.user,
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
        )

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        item = self.server.store.codes.get(code)
        if item is not None and item.client_id == client.client_id and not item.is_expired():
            return item
        return None

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        self.server.store.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: AuthorizationCode) -> User:
        return authorization_code.user


class _PasswordGrant(grants.ResourceOwnerPasswordCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)
    server: _Server

    def authenticate_user(self, username: str, password: str) -> User | None:
        user = self.server.store.users.get(username)
        return user if user is not None and _same(user.password, password) else None


class _ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)


class _RefreshGrant(grants.RefreshTokenGrant):
    """Rotation is Authlib's INCLUDE_NEW_REFRESH_TOKEN switch (off in Authlib's own class)."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)
    server: _Server

    def __init__(self, oauth_request: Any, server: _Server) -> None:
        super().__init__(oauth_request, server)
        self.INCLUDE_NEW_REFRESH_TOKEN = server.rotate_refresh_tokens

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        found = self.server.store.tokens.get(refresh_token)
        return found if found is not None and found.kind == "refresh_token" and not found.revoked else None

    def authenticate_user(self, credential: Token) -> User | None:
        return credential.user

    def revoke_old_credential(self, refresh_token: Token) -> None:
        """The old access token always goes; the old refresh token only when a new one replaced it."""
        if refresh_token.sibling is not None:
            refresh_token.sibling.revoked = True
        if self.INCLUDE_NEW_REFRESH_TOKEN:
            refresh_token.revoked = True


class _Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)
    server: _Server

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        return self.server.store.tokens.get(token_string)

    def revoke_token(self, token: Token, oauth_request: Any) -> None:
        """As Authlib's documented example: hint=access_token revokes that token alone, else both."""
        token.revoked = True
        alone = token.kind == "access_token" and oauth_request.form.get("token_type_hint") == "access_token"
        if token.sibling is not None and not alone:
            token.sibling.revoked = True


class _Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)
    server: _Server

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        return self.server.store.tokens.get(token_string)

    def check_permission(self, token: Token, client: Client, oauth_request: Any) -> bool:
        return token.check_client(client)

    def introspect_token(self, token: Token) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "active": True,
            "client_id": token.client_id,
            "token_type": token.token_type,
            "iat": token.issued_at,
        }
        if token.scope:
            payload["scope"] = token.scope
        if token.user is not None:
            payload["username"] = token.user.username
        if token.expires_at is not None:
            payload["exp"] = token.expires_at
        return payload


_AUTHORIZATION_GRANTS = (_CodeGrant, grants.ImplicitGrant)
_TOKEN_GRANTS = (_PasswordGrant, _ClientCredentialsGrant, _RefreshGrant)
GRANT_TYPES = tuple(str(g.GRANT_TYPE) for g in (*_AUTHORIZATION_GRANTS, *_TOKEN_GRANTS))
RESPONSE_TYPES = tuple(sorted(t for g in _AUTHORIZATION_GRANTS for t in g.RESPONSE_TYPES))


def _authorization_grants(implicit: bool) -> tuple[type[grants.BaseGrant], ...]:
    """The grants registered at the authorization endpoint; `implicit=False` leaves Authlib's out."""
    return _AUTHORIZATION_GRANTS if implicit else (_CodeGrant,)


def grant_types(implicit: bool = True) -> tuple[str, ...]:
    return tuple(str(getattr(g, "GRANT_TYPE")) for g in (*_authorization_grants(implicit), *_TOKEN_GRANTS))  # noqa: B009


def response_types(implicit: bool = True) -> tuple[str, ...]:
    return tuple(sorted(t for g in _authorization_grants(implicit) for t in g.RESPONSE_TYPES))


def metadata(issuer: str, implicit: bool = True) -> dict[str, Any]:
    """RFC 8414 metadata, read off the Authlib classes registered here and checked by Authlib."""
    data = AuthorizationServerMetadata(
        issuer=issuer,
        authorization_endpoint=issuer + "/oauth/authorize",
        token_endpoint=issuer + "/oauth/token",
        revocation_endpoint=issuer + "/oauth/revoke",
        introspection_endpoint=issuer + "/oauth/introspect",
        scopes_supported=list(SCOPES),
        response_types_supported=list(response_types(implicit)),
        grant_types_supported=list(grant_types(implicit)),
        token_endpoint_auth_methods_supported=list(AUTH_METHODS),
        revocation_endpoint_auth_methods_supported=list(_Revocation.CLIENT_AUTH_METHODS),
        introspection_endpoint_auth_methods_supported=list(_Introspection.CLIENT_AUTH_METHODS),
        code_challenge_methods_supported=list(CodeChallenge.SUPPORTED_CODE_CHALLENGE_METHOD),
    )
    data.validate()
    return dict(data)


_PAGE = "<!doctype html><html><head><title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"
_LOGIN_FORM = (
    '<form method="post" action="/login"><label>Username <input name="username"></label>'
    '<label>Password <input type="password" name="password"></label>'
    '<input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="next" value="{next}">'
    '<button type="submit">Sign in</button></form>'
)
_CONSENT_FORM = (
    "<p>Allow {client} the scope &quot;{scope}&quot;?</p>"
    '<form method="post" action="{action}"><input type="hidden" name="consent_csrf" value="{csrf}">'
    '<button type="submit" name="confirm" value="yes">Allow</button>'
    '<button type="submit" name="deny" value="yes">Deny</button></form>'
)


def _page(title: str, body: str, status: int = 200, **values: str) -> Response:
    """An HTML page; `values` are escaped into `body`."""
    text = _PAGE.format(title=title, body=body.format(**{k: html.escape(v) for k, v in values.items()}))
    return Response(text, status=status, mimetype="text/html")


def _same_origin(target: str) -> str:
    """Where to go after login: only this server's own pages, so `next` is no open redirect."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return target if f"{parts.scheme}://{parts.netloc}/" == request.host_url else "/"
    return target if target.startswith("/") and not target.startswith("/\\") else "/"


def create_app(
    store: Store, rotate_refresh_tokens: bool = True, *, with_metadata: bool = True, implicit: bool = True
) -> Flask:
    """The Flask app: Authlib's server plus the two HTML pages a person would see.

    `with_metadata=False`: no RFC 8414 document (its URL answers 404, as on a server that publishes
    none); `implicit=False`: Authlib's ImplicitGrant is not registered (RFC 9700 §2.1.2)."""
    app = Flask(__name__)
    app.secret_key = secrets.token_hex(32)
    app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = True  # Authlib issues no refresh tokens unless told
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = dict.fromkeys(GRANT_TYPES, TOKEN_LIFETIME)
    app.config["OAUTH2_SCOPES_SUPPORTED"] = list(SCOPES)  # Authlib answers invalid_scope to any other
    server = _Server(app, store, rotate_refresh_tokens)
    server.register_grant(_CodeGrant, [CodeChallenge(required=False)])
    if implicit:
        server.register_grant(grants.ImplicitGrant)
    for grant in _TOKEN_GRANTS:
        server.register_grant(grant)
    server.register_endpoint(_Revocation)
    server.register_endpoint(_Introspection)

    @app.get("/")
    def index() -> ResponseReturnValue:
        return _page("Authlib interop server", "")

    if with_metadata:

        @app.get("/.well-known/oauth-authorization-server")
        def well_known() -> ResponseReturnValue:
            return metadata(app.config["ISSUER"], implicit)

    @app.route("/login", methods=["GET", "POST"])
    def login() -> ResponseReturnValue:
        target = request.values.get("next", "/")
        if request.method == "POST":
            expected, form = session.pop("login_csrf", ""), request.form
            user = store.users.get(form.get("username", ""))
            if (
                expected
                and _same(expected, form.get("csrf", ""))
                and user is not None
                and _same(user.password, form.get("password", ""))
            ):
                session.clear()
                session["user"] = user.username
                return redirect(_same_origin(target))
        session["login_csrf"] = csrf = secrets.token_urlsafe(32)
        status = 401 if request.method == "POST" else 200
        return _page("Sign in", _LOGIN_FORM, status, csrf=csrf, next=target)

    @app.route("/oauth/authorize", methods=["GET", "POST"])
    def authorize() -> ResponseReturnValue:
        user = store.users.get(session.get("user", ""))
        try:  # Authlib validates the request first, so a bad one errors whether or not anyone is logged in
            grant = server.get_consent_grant(end_user=user)
        except OAuth2Error as error:
            return server.handle_error_response(None, error)
        if user is None:
            return redirect("/login?" + urlencode({"next": request.url}))
        if request.method == "GET":
            session["consent_csrf"] = csrf = secrets.token_urlsafe(32)
            action = "/oauth/authorize?" + request.query_string.decode()
            values = {"client": grant.client.client_id, "scope": grant.request.scope or "", "action": action}
            return _page("Consent", _CONSENT_FORM, csrf=csrf, **values)
        expected = session.pop("consent_csrf", "")
        if not expected or not _same(expected, request.form.get("consent_csrf", "")):
            return _page("Consent expired", "<p>Bad or missing consent_csrf.</p>", 400)
        granted = user if request.form.get("confirm") == "yes" else None
        return server.create_authorization_response(grant_user=granted, grant=grant)

    @app.post("/oauth/token")
    def token() -> ResponseReturnValue:
        return server.create_token_response()

    @app.post("/oauth/revoke")
    def revoke() -> ResponseReturnValue:
        return server.create_endpoint_response(_Revocation.ENDPOINT_NAME)

    @app.post("/oauth/introspect")
    def introspect() -> ResponseReturnValue:
        return server.create_endpoint_response(_Introspection.ENDPOINT_NAME)

    return app


class _QuietHandler(WSGIRequestHandler):
    """No access log: a test run makes hundreds of requests."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class AuthlibServer:
    """Runs `create_app` on an ephemeral loopback port in a daemon thread, for one `with` block.

    Exceptions raised in request handlers are kept in `errors` and re-raised on exit, so a broken
    server shows as a test error rather than as an unexplained HTTP 500. `store` is there for
    white-box setup (say, ageing a code); black-box tests should not need it.
    """

    def __init__(self, *, rotate_refresh_tokens: bool = True, metadata: bool = True, implicit: bool = True) -> None:
        self.store = Store(implicit)
        self.app = create_app(self.store, rotate_refresh_tokens, with_metadata=metadata, implicit=implicit)
        self.errors: list[BaseException] = []
        got_request_exception.connect(self._record_error, self.app)
        self._httpd: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def _record_error(self, sender: Flask, exception: BaseException, **_: Any) -> None:
        self.errors.append(exception)

    @property
    def url(self) -> str:
        """Base URL and issuer, like http://127.0.0.1:PORT (no trailing slash)."""
        if self._httpd is None:
            raise RuntimeError("AuthlibServer is not running; use it in a `with` block")
        return f"http://127.0.0.1:{self._httpd.server_port}"

    def __enter__(self) -> AuthlibServer:
        self._httpd = make_server("127.0.0.1", 0, self.app, threaded=True, request_handler=_QuietHandler)
        self.app.config["ISSUER"] = self.url
        serve = self._httpd.serve_forever
        self._thread = threading.Thread(
            target=serve, kwargs={"poll_interval": 0.05}, name="authlib-server", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd, self._thread = None, None
        if exc_type is None and self.errors:
            raise RuntimeError(f"the Authlib server raised {len(self.errors)} error(s)") from self.errors[0]


if __name__ == "__main__":
    with AuthlibServer() as running:
        print(
            f"Authlib server at {running.url}; clients {CLIENT_ID}/{CLIENT_SECRET} and "
            f"{SECOND_CLIENT_ID}/{SECOND_CLIENT_SECRET}, user {USERNAME}/{PASSWORD}",
            flush=True,
        )
        threading.Event().wait()
