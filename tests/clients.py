"""Test clients that act as a given user: on the API, and on the pages (dashboard, admin).

Plain functions, imported by name. The fixtures in conftest.py (`trader_api`,
`staff_client`, ...) are these applied to the role users; call the functions
directly for a client with other options (an account-scoped or read-only token,
CSRF checks on).
"""

from types import SimpleNamespace

from django.test import Client
from rest_framework.test import APIClient

from orderstate.models.auth import ApiToken


def api_client_for(user, *, account=None, read_only=False):
    """An API client authenticated as `user` without going through token lookup.

    `account` and `read_only` stand for the scope an issued token would carry.
    """
    client = APIClient()
    client.force_authenticate(user, token=SimpleNamespace(account=account, read_only=read_only))
    return client


def client_with_token(key):
    """An API client that sends `Authorization: Token <key>`, as the bot does."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def token_client_for(user, **issue_options):
    """An API client with a freshly issued token of `user` (options as `ApiToken.issue`)."""
    _, key = ApiToken.issue(user, **issue_options)
    return client_with_token(key)


def logged_in_client(user, **options):
    """A browser-like client with `user`'s session (options as `django.test.Client`)."""
    client = Client(**options)
    client.force_login(user)
    return client
