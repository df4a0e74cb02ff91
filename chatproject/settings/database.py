"""PostgreSQL through `DATABASE_URL`; SQLite when it is unset (local use only)."""

from .environment import BASE_DIR, env, env_or_default


def postgres_options():
    """The connection options of every PostgreSQL connection (the suite's and
    the benchmark's too, so that they run what production runs).

    - Fail fast (503) instead of hanging when the server is unreachable.
    - Parameters bound by the server, and a statement run
      `DB_PREPARE_THRESHOLD` times on a connection prepared there: the hot
      statements (the chat with its branches, a pair's count, its search
      entry) are then planned once per connection, not on every request
      (0.1 to 0.2 ms each here; an append's three statements 1.7 -> 1.3 ms).
      Behind a pooler in transaction mode that cannot keep prepared
      statements (PgBouncer before 1.21, or without max_prepared_statements),
      set `DB_PREPARE_THRESHOLD=off`.
    """
    threshold = env("DB_PREPARE_THRESHOLD", default="5").strip().lower()
    return {
        "connect_timeout": 5,
        "server_side_binding": True,
        "prepare_threshold": None if threshold in ("", "off", "none") else int(threshold),
    }


DATABASES = {
    "default": env.db_url_config(env_or_default("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")),
}
# A new PostgreSQL connection costs ~2 ms; keep it across requests.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["OPTIONS"] = {**DATABASES["default"].get("OPTIONS", {}), **postgres_options()}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
