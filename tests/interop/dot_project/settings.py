"""Django settings of the django-oauth-toolkit interop project: what DOT's tutorial sets, no more.

INSTALLED_APPS with oauth2_provider, Django's sessions, auth and CSRF middleware, a login page
(LOGIN_URL, Django's own LoginView), and DOT's defaults for everything OAuth: PKCE_REQUIRED,
refresh token rotation, token and code lifetimes, the read/write scopes. The sqlite database lives
wherever DOT_INTEROP_DB points (a temporary directory the fixture owns).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = os.environ.get("DOT_INTEROP_SECRET_KEY") or secrets.token_urlsafe(50)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "oauth2_provider",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tests.interop.dot_project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": Path(os.environ.get("DOT_INTEROP_DB", BASE_DIR / "db.sqlite3")),
        # The race requirements (issue 18) send token requests at once to Django's threaded server. With
        # SQLite's default deferred transactions two writers deadlock on the lock upgrade and one gets
        # "database is locked" (HTTP 500); Django's documented remedy (5.1+) takes the write lock at BEGIN.
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
    }
}

USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "/accounts/login/"  # Django's LoginView (urls.py); DOT's authorize view requires a login

# DOT: its defaults, spelled out where the interop test relies on them. PKCE_REQUIRED is True in
# DOT; DOT_INTEROP_PKCE_REQUIRED=0 turns it off (DOT's documented switch) for the second DOT run.
OAUTH2_PROVIDER = {
    "SCOPES": {"read": "Reading scope", "write": "Writing scope"},
    "PKCE_REQUIRED": os.environ.get("DOT_INTEROP_PKCE_REQUIRED", "1") != "0",
}

# DOT hashes client secrets with Django's password hashers; PBKDF2's million rounds cost ~0.3 s a
# token request. Django's testing docs suggest a fast hasher for tests; it changes no OAuth behaviour.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# No access log: a run makes hundreds of requests. Server errors (500) go to stderr, which the
# fixture keeps in its log and the interop test reads (dot_server.DotServer.server_errors).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}, "stderr": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.server": {"handlers": ["null"], "propagate": False},
        "django.request": {"handlers": ["stderr"], "level": "ERROR", "propagate": False},
    },
}
