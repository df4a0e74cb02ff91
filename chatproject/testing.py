"""Helpers shared by the test suites of every app."""

from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken


def error(code, detail, attr=None, error_type="client_error"):
    """The body of an API error with a single item."""
    return {"type": error_type, "errors": [{"code": code, "detail": detail, "attr": attr}]}


def client_for(user, **client_options):
    """An API client that sends a fresh access token of `user`."""
    client = APIClient(**client_options)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client
