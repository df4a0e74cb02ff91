"""Production: every secret from the environment, refusing to start when one is
missing or `DEBUG` is on."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F401,F403
from .environment import env

SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set in production.")
if env.bool("DEBUG", default=False):
    raise ImproperlyConfigured("DEBUG must be off in production.")
DEBUG = False
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
# The embedded stand-ins lose data; production must name real servers.
if not env("DATABASE_URL", default=""):
    raise ImproperlyConfigured("DATABASE_URL must be set in production.")
if not env("MONGODB_URI", default="").startswith(("mongodb://", "mongodb+srv://")):
    raise ImproperlyConfigured("MONGODB_URI must name a MongoDB server in production.")

# gunicorn runs many threads per worker (one per open event stream): a pool
# per worker process bounds its PostgreSQL connections at DB_POOL_SIZE,
# whatever the threads (a stream gives its connection back before it waits).
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405 - the pool keeps them
    DATABASES["default"]["OPTIONS"]["pool"] = {  # noqa: F405
        "min_size": 1,
        "max_size": env.int("DB_POOL_SIZE", default=10),
        "timeout": 10,
    }
    # The generations' heartbeats: one connection of its own per process, so
    # that a pool busy with requests never holds back the proof that this
    # process's generations are alive.
    DATABASES["heartbeats"] = {  # noqa: F405
        **DATABASES["default"],  # noqa: F405
        "CONN_MAX_AGE": None,
        "OPTIONS": {k: v for k, v in DATABASES["default"]["OPTIONS"].items() if k != "pool"},  # noqa: F405
    }

# The production image carries no local model: it asks a model server.
LLM_PROVIDER = env("LLM_PROVIDER", default="openai")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# /health is probed over plain HTTP by the container runtime.
SECURE_REDIRECT_EXEMPT = [r"^health$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "chatproject.staticfiles.StaticFilesStorage"},
}
