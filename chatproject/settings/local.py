"""Local development: the default of `manage.py` and `make run`. Runs with no
configuration at all, on SQLite, local memory and in-process mongomock."""

from .base import *  # noqa: F401,F403
from .environment import env, env_or_default

DEBUG = env.bool("DEBUG", default=True)
# `SECRET_KEY=` (as in .env.example) means the built-in key too.
SECRET_KEY = env_or_default("SECRET_KEY", "insecure-local-development-key-do-not-deploy")
# Serve static files straight from the apps, no collectstatic needed.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = None
# The development server serves each connection on a new thread, and Django
# does not reuse a persistent connection across threads: kept, they pile up
# until PostgreSQL refuses new clients.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)  # noqa: F405
