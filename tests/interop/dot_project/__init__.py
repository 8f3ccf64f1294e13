"""A minimal Django project serving django-oauth-toolkit, for the interop tests (see ../dot_server.py)."""
