"""Redis through django-redis (`REDIS_URL`); local memory when it is unset.

Redis errors are swallowed (`IGNORE_EXCEPTIONS`): the data cache and the
throttles fail open, so the API keeps answering, only slower, while Redis is
down. `/health` still reports it.
"""

from .environment import env

REDIS_URL = env("REDIS_URL", default="")


def redis_cache(url, key_prefix="chat"):
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": key_prefix,
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "IGNORE_EXCEPTIONS": True,
            # A dead Redis must cost a request milliseconds, not seconds.
            "SOCKET_CONNECT_TIMEOUT": 0.25,
            "SOCKET_TIMEOUT": 0.5,
        },
    }


LOCMEM_CACHE = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "chat"}

CACHES = {"default": redis_cache(REDIS_URL) if REDIS_URL else LOCMEM_CACHE}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
