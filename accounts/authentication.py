"""JWT authentication that reads a user's row at most once every
`AUTH_USER_CACHE_SECONDS` per process, not on every request.

simplejwt's `JWTAuthentication` reads the user named by the token on every
request (one PostgreSQL statement, about 1 ms here) to refuse tokens of
users deactivated or deleted since the token was issued. This keeps that
check, but answers it from memory for a while:

- What it costs: a user deactivated or deleted by a statement that skips
  the model's signals (`QuerySet.update`, raw SQL, another service's
  database) keeps working with access tokens already issued for up to
  `AUTH_USER_CACHE_SECONDS` (default 30) on each process that has seen
  them. A change made through the model (`user.save()`, the admin,
  `user.delete()`) takes effect at once on the process that makes it, and
  within `AUTH_USER_CACHE_SECONDS` on the others. Login and refresh always
  read the row: no new token is issued to a deactivated user.
- The user object is shared by that user's concurrent requests in the
  process: nothing here changes it.

An access token is also checked once per process, not on every request: its
text never changes, so one whose signature and claims were checked is looked
up by its text and only its expiry compared again (the check costs about
40 µs a request here; the lookup 2). Access tokens are not revoked one by one
(logout blacklists the refresh token), so nothing else could change the answer.
"""

import threading
import time

from cachetools import LRUCache, TTLCache
from django.conf import settings
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings

# Users held per process, whichever came last.
MAX_USERS = 10_000

_lock = threading.Lock()
_users: dict[str, TTLCache] = {}
# Validated access tokens by their text, whichever were used last: (the
# token, the time.time() after which it has expired).
_tokens: LRUCache = LRUCache(maxsize=MAX_USERS)


def _cache() -> TTLCache:
    ttl = settings.AUTH_USER_CACHE_SECONDS
    cache = _users.get("cache")
    if cache is None or cache.ttl != ttl:  # the setting changed (tests)
        cache = _users["cache"] = TTLCache(maxsize=MAX_USERS, ttl=ttl, timer=time.monotonic)
    return cache


class CachedUserJWTAuthentication(JWTAuthentication):
    def get_validated_token(self, raw_token):
        with _lock:
            known = _tokens.get(raw_token)
        if known is not None and time.time() < known[1]:
            return known[0]
        token = super().get_validated_token(raw_token)
        expires = token.payload.get("exp")
        if isinstance(expires, int | float):
            leeway = token.get_token_backend().get_leeway().total_seconds()
            with _lock:
                _tokens[raw_token] = (token, expires + leeway)
        return token

    def get_user(self, validated_token):
        key = str(validated_token.get(api_settings.USER_ID_CLAIM))
        with _lock:
            user = _cache().get(key)
        if user is not None:
            return user
        # The row, with simplejwt's own checks: unknown or inactive is a 401.
        user = super().get_user(validated_token)
        with _lock:
            _cache()[key] = user
        return user


def forget(user_id) -> None:
    """Read this user's row again on the next request (a change through the model)."""
    with _lock:
        _cache().pop(str(user_id), None)


def forget_all() -> None:
    with _lock:
        _users.clear()
        _tokens.clear()
