"""Request rates. Read at request time by `chatproject.api.throttles`, so tests
can change them with `override_settings`."""

from .environment import env

THROTTLE_USER_RATE = env("THROTTLE_USER_RATE", default="1000/minute")
# Login, register and refresh: stricter, keyed by client address.
THROTTLE_AUTH_RATE = env("THROTTLE_AUTH_RATE", default="10/minute")
# How many reverse proxies in front of the app append to X-Forwarded-For. With
# 0 the header is ignored and the peer address is the client: a client could
# otherwise pick a new address per request and never be throttled.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)
# Generated answers, per user (on top of the user rate).
THROTTLE_GENERATE_RATE = env("THROTTLE_GENERATE_RATE", default="60/minute")
# get-shared and the shared page (/s/<token>), which need no login: per
# client address.
THROTTLE_SHARED_RATE = env("THROTTLE_SHARED_RATE", default="120/minute")
