"""simplejwt: short-lived access tokens, rotated and blacklisted refresh tokens."""

from datetime import timedelta

from .environment import env

ACCESS_TOKEN_MINUTES = env.int("ACCESS_TOKEN_MINUTES", default=15)
REFRESH_TOKEN_DAYS = env.int("REFRESH_TOKEN_DAYS", default=7)
# How long a process answers "is this token's user still active?" from memory
# instead of a database read (accounts/authentication.py says what it costs).
AUTH_USER_CACHE_SECONDS = env.float("AUTH_USER_CACHE_SECONDS", default=30)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=ACCESS_TOKEN_MINUTES),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=REFRESH_TOKEN_DAYS),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    # A write per login buys nothing here.
    "UPDATE_LAST_LOGIN": False,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}
