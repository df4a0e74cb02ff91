"""Settings for the test suite.

PostgreSQL and Redis are used when `DATABASE_URL`/`REDIS_URL` name them or,
unless `TEST_ADOPT_LOCAL_SERVICES=0`, when they answer on their local default
ports. Otherwise the suite falls back to SQLite and local memory (so a
newcomer's first `make test` passes) and the tests that need the real servers
are skipped; `REQUIRE_REAL_SERVICES=1` (set by CI) turns that fallback into an
error. Content always goes to mongomock, in a database whose name says "test".
The run's header (conftest.py) says which of them it uses and why.
"""

import socket

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F401,F403
from .cache import LOCMEM_CACHE, redis_cache
from .database import postgres_options
from .environment import env

LOCAL_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/chat"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/15"


def _answers(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


_adopt = env.bool("TEST_ADOPT_LOCAL_SERVICES", default=True)
_database_url = env("DATABASE_URL", default="")
TEST_DATABASE_SOURCE = "DATABASE_URL"
if not _database_url:
    TEST_DATABASE_SOURCE = "fallback: DATABASE_URL unset"
    if _adopt and _answers("127.0.0.1", 5432):
        _database_url, TEST_DATABASE_SOURCE = LOCAL_POSTGRES_URL, "found on 127.0.0.1:5432, DATABASE_URL unset"
_redis_url = env("REDIS_URL", default="")
TEST_REDIS_SOURCE = "REDIS_URL"
if not _redis_url:
    TEST_REDIS_SOURCE = "fallback: REDIS_URL unset"
    if _adopt and _answers("127.0.0.1", 6379):
        _redis_url, TEST_REDIS_SOURCE = LOCAL_REDIS_URL, "found on 127.0.0.1:6379, REDIS_URL unset"
TEST_REDIS_URL = _redis_url
# The generations' event logs go to the suite's Redis too.
REDIS_URL = _redis_url

if _database_url.startswith(("postgres://", "postgresql://")):
    DATABASES = {"default": env.db_url_config(_database_url)}
    DATABASES["default"]["OPTIONS"] = postgres_options()
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
CACHES = {"default": redis_cache(_redis_url, key_prefix="chat-test") if _redis_url else LOCMEM_CACHE}

TEST_USES_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
TEST_USES_REDIS = CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"
if env.bool("REQUIRE_REAL_SERVICES", default=False) and not (TEST_USES_POSTGRES and TEST_USES_REDIS):
    raise ImproperlyConfigured(
        "REQUIRE_REAL_SERVICES is set but PostgreSQL or Redis is not in use "
        f"(database: {DATABASES['default']['ENGINE']}, cache: {CACHES['default']['BACKEND']})."
    )

# Content never reaches a real MongoDB from the suite, except in the tests marked
# `real_mongo`, which read `MONGODB_URI` themselves.
REAL_MONGODB_URI = env("MONGODB_URI", default="")
MONGODB_URI = "mongomock://localhost/chat_test"
MONGODB_WARN_IF_EPHEMERAL = False
# The suite's chats live in its own database; tests call the start-up pruning themselves.
PRUNE_CHATS_WITHOUT_CONTENT_AT_START = False

SECRET_KEY = "test-only-secret-key-that-is-long-enough-for-hs256"
DEBUG = False
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = None
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Generous, so only the throttle tests (which lower them) ever see a 429.
THROTTLE_USER_RATE = "100000/minute"
THROTTLE_AUTH_RATE = "100000/minute"
# The tests that generate choose their provider themselves.
LLM_PROVIDER = "off"
THROTTLE_GENERATE_RATE = "100000/minute"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
