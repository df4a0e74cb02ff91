"""Settings for the benchmark: production-like (DEBUG off, a pool of
PostgreSQL connections, Redis cache) on stores of its own, so a run never
touches the data of `make run` or of the test suite.

- PostgreSQL database `chat_bench` (created and migrated by `bench/run.py`);
- Redis database 14, which the benchmark flushes;
- content in mongomock, database `chat_bench`.

`BENCH_DATABASE_URL`, `BENCH_REDIS_URL` and `BENCH_MONGODB_URI` point it elsewhere.
"""

from chatproject.settings.base import *  # noqa: F401,F403
from chatproject.settings.cache import redis_cache
from chatproject.settings.database import postgres_options
from chatproject.settings.environment import env

DEBUG = False
SECRET_KEY = "bench-only-secret-key-that-is-long-enough-for-hs256"
# The test client's host, beside the loopback address the HTTP server is hit on.
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]

BENCH_DATABASE_URL = env("BENCH_DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/chat_bench")
DATABASES = {"default": env.db_url_config(BENCH_DATABASE_URL)}
# As production runs it (chatproject/settings/production.py): a pool of
# connections per process, one checked out per request, with the same options.
DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["OPTIONS"] = {**postgres_options(), "pool": {"min_size": 1, "max_size": 10, "timeout": 10}}

BENCH_REDIS_URL = env("BENCH_REDIS_URL", default="redis://127.0.0.1:6379/14")
CACHES = {"default": redis_cache(BENCH_REDIS_URL, key_prefix="chat-bench")}

# A MongoDB server may be named instead (its database name must contain
# "bench": the benchmark empties it).
MONGODB_URI = env("BENCH_MONGODB_URI", default="mongomock://localhost/chat_bench")
MONGODB_WARN_IF_EPHEMERAL = False
CONTENT_BUCKET_SIZE = 100
CONTENT_BUCKET_BYTES = 4 * 1024 * 1024

# Generous: the benchmark must never see a 429.
THROTTLE_USER_RATE = "1000000/minute"
THROTTLE_AUTH_RATE = "1000000/minute"

ROOT_URLCONF = "bench.urls"
STATIC_ROOT = None
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
