"""Rate limits: DRF's sliding windows, checked and recorded in Redis by one
script, and rates read from settings at request time.

DRF's throttles read a key's history, then write it back: two Redis round
trips per throttle, and two processes reading the same history at once both
let a request through that only one of them should. Here the window is a
sorted set of request times, and one Lua script (run with EVALSHA, one round
trip) drops the times older than the window, counts the rest and records the
request only if there is room, atomically, by Redis's own clock. The limits
and `Retry-After` are DRF's: at most N requests in any window of the
rate's period, and a wait until the oldest of them leaves the window.

Without Redis (the local-memory fallback of `make run` and of the suite
without services) DRF's own code runs on the local cache. With Redis down
throttling fails open, as the data cache does.

DRF binds `DEFAULT_THROTTLE_RATES` when its module is imported; reading our own
settings on each request keeps `THROTTLE_*_RATE`, `NUM_PROXIES` and
`override_settings` working.
"""

import logging
import threading
import time
import uuid

from cachetools import LRUCache
from django.conf import settings
from django.core.cache import cache, caches
from django_redis.cache import RedisCache
from redis.exceptions import NoScriptError, RedisError
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

logger = logging.getLogger(__name__)

# KEYS[1]: the window; ARGV: limit, period (ms), a unique member. Returns -1
# when the request is let through (and recorded), else the milliseconds until
# the oldest request in the window leaves it.
WINDOW_SCRIPT = """
local key, limit, period = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, period)
  return -1
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return period - (now - tonumber(oldest[2]))
"""

_scripts = {}


def _window_script():
    """The script bound to the default cache's Redis client, or None when
    the cache is not Redis."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    client = backend.client.get_client(write=True)
    known = _scripts.get(id(client))
    if known is None or known[0] is not client:
        known = _scripts[id(client)] = (client, client.register_script(WINDOW_SCRIPT))
    return known[1]


# Windows found full, until when (monotonic), whichever were refused last.
_full: LRUCache = LRUCache(maxsize=10_000)
_full_lock = threading.Lock()


def _still_full(window) -> bool:
    with _full_lock:
        until = _full.get(window)
    return until is not None and time.monotonic() < until


def _check_window(script, key, args, reads=None):
    """(the script's answer, the values of `reads` or None), in one round
    trip: a pipeline of the script and an MGET. Not read by the script
    itself: a value returned through Lua is copied twice on the server (a
    115 KB page took 0.25 ms more that way, and 0.07 ms in the pipeline)."""
    if not reads:
        return script(keys=[key], args=args), None
    with script.registered_client.pipeline(transaction=False) as pipe:
        pipe.evalsha(script.sha, 1, key, *args)
        pipe.mget(reads)
        wait_ms, found = pipe.execute(raise_on_error=False)
    if isinstance(wait_ms, NoScriptError):  # the server lost its scripts (a restart): load it
        wait_ms = script(keys=[key], args=args)
    if isinstance(wait_ms, Exception):
        raise wait_ms
    return wait_ms, None if isinstance(found, Exception) else found


class WindowMixin:
    """DRF's sliding window, in one atomic round trip when the cache is Redis."""

    def allow_request(self, request, view):
        script = _window_script()
        if script is None:
            return super().allow_request(request, view)
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        window = cache.make_key(self.key)
        # Keys the route will read anyway (`chatproject.cache.Prefetch`), read
        # in this round trip by the first throttle to run; not for a window
        # this process saw full, so that a client over its limit does not
        # pull a cached page (megabytes, for a whole chat) with each refusal.
        prefetch = getattr(request, "redis_prefetch", None)
        reads = None
        if prefetch is not None and prefetch.values is None and not _still_full(window):
            reads = prefetch.keys
        try:
            wait_ms, found = _check_window(
                script, window, [self.num_requests, self.duration * 1000, uuid.uuid4().hex], reads
            )
        except RedisError as exc:
            logger.warning("rate limit not checked, Redis failed: %s", exc)
            return True  # fails open, as the data cache does
        if reads and found is not None:
            prefetch.values = found
        self.waiting = None if wait_ms < 0 else wait_ms / 1000
        if self.waiting is not None:
            with _full_lock:
                _full[window] = time.monotonic() + self.waiting
        return self.waiting is None

    def wait(self):
        if _window_script() is None:
            return super().wait()
        return self.waiting


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


class UserThrottle(WindowMixin, ClientAddressMixin, UserRateThrottle):
    scope = "user"

    def get_rate(self):
        return settings.THROTTLE_USER_RATE


class AuthThrottle(WindowMixin, ClientAddressMixin, AnonRateThrottle):
    """Login, register and refresh: keyed by client address, whoever is asking."""

    scope = "auth"

    def get_rate(self):
        return settings.THROTTLE_AUTH_RATE

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class GenerateThrottle(WindowMixin, UserRateThrottle):
    """Generated answers, per user: checked by the routes when they generate
    (a client that sends its own response is not counted)."""

    scope = "generate"

    def get_rate(self):
        return settings.THROTTLE_GENERATE_RATE


class SharedThrottle(AuthThrottle):
    """A shared conversation (get-shared, the page /s/<token>), read without
    a login: keyed by client address."""

    scope = "shared"

    def get_rate(self):
        return settings.THROTTLE_SHARED_RATE
