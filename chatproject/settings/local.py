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
