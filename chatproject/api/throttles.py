"""Rate limits whose rates are read from settings at request time.

DRF binds `DEFAULT_THROTTLE_RATES` when its module is imported; reading our own
settings on each request keeps `THROTTLE_*_RATE`, `NUM_PROXIES` and
`override_settings` working. With Redis down the cache reads come back empty,
so throttling fails open.
"""

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class ClientAddressMixin:
    def get_ident(self, request):
        """The client's address: the peer's, or with `NUM_PROXIES` = n > 0 the
        n-th address from the end of X-Forwarded-For (the one the outermost
        trusted proxy saw). What a client writes there itself is never used."""
        remote_addr = request.META.get("REMOTE_ADDR")
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
        num_proxies = settings.NUM_PROXIES
        if not num_proxies or not forwarded:
            return remote_addr
        addresses = [a.strip() for a in forwarded.split(",")]
        return addresses[-min(num_proxies, len(addresses))] or remote_addr


class UserThrottle(ClientAddressMixin, UserRateThrottle):
    scope = "user"

    def get_rate(self):
        return settings.THROTTLE_USER_RATE


class AuthThrottle(ClientAddressMixin, AnonRateThrottle):
    """Login, register and refresh: keyed by client address, whoever is asking."""

    scope = "auth"

    def get_rate(self):
        return settings.THROTTLE_AUTH_RATE

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class GenerateThrottle(UserRateThrottle):
    """Generated answers, per user: checked by the routes when they generate
    (a client that sends its own response is not counted)."""

    scope = "generate"

    def get_rate(self):
        return settings.THROTTLE_GENERATE_RATE
