"""PostgreSQL through `DATABASE_URL`; SQLite when it is unset (local use only)."""

from .environment import BASE_DIR, env, env_or_default

DATABASES = {
    "default": env.db_url_config(env_or_default("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")),
}
# A new PostgreSQL connection costs ~2 ms; keep it across requests.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Fail fast (503) instead of hanging when the server is unreachable.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
