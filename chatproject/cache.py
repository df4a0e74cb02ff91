"""Every cache key of the service is built here.

Reads of a chat (its pages, its branch list) are cached per chat under a
*version*: a number kept in the cache that every write to the chat bumps
(`bump_chat`). An entry holds the version it was computed under and is
served only while that is still the chat's version, so a client always
reads its own writes. The requesting user is part of every entry's key, so an
entry can only ever be served to the user whose request filled it. With Redis
down the cache answers nothing and every read goes to the stores.

Entries hold the response already rendered to JSON: a hit costs one round trip
(the version and the entry together) and no rendering at all.
"""

import time

from django.core.cache import cache
from django.db import transaction
from rest_framework.renderers import JSONRenderer

# Short: a write made while Redis was unreachable could not bump its chat's
# version, and this bounds how long the entries from before it can live.
ENTRY_TIMEOUT = 5 * 60
VERSION_TIMEOUT = 60 * 60 * 24 * 7

_renderer = JSONRenderer()


def _version_key(chat_id):
    return f"chat:{chat_id}:version"


def bump_chat(chat_id):
    """Make every cached read of this chat stale: now, and, inside a
    transaction (the admin wraps its saves in one), again when it commits, so
    a read between the two, still seeing the old rows, leaves no entry under
    the newest version."""
    _bump(chat_id)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: _bump(chat_id))


def _bump(chat_id):
    key = _version_key(chat_id)
    try:
        cache.incr(key)
    except ValueError:
        # Missing (never read, or evicted): a fresh clock-seeded value is higher
        # than any earlier one.
        cache.set(key, time.time_ns(), VERSION_TIMEOUT)


def chat_read_key(*, user_id, chat_id, view, params):
    parts = ":".join(str(p) for p in params)
    return f"chat:{chat_id}:user:{user_id}:{view}:{parts}"


def cached_chat_json(*, user_id, chat_id, view, params, compute):
    """The JSON bytes of `compute()`, from the cache when this user read the
    same thing of this chat since its last write."""
    version_key = _version_key(chat_id)
    entry_key = chat_read_key(user_id=user_id, chat_id=chat_id, view=view, params=params)
    found = cache.get_many([version_key, entry_key])
    version, entry = found.get(version_key), found.get(entry_key)
    if version is not None and entry is not None and entry[0] == version:
        return entry[1]
    if version is None:
        # Start the version before reading, so a write landing during the
        # read bumps it and the entry below is never served. Seeded from the
        # clock, so it comes back higher than any evicted or expired one.
        cache.add(version_key, time.time_ns(), VERSION_TIMEOUT)
        version = cache.get(version_key)
    body = _renderer.render(compute())
    if version is not None:
        cache.set(entry_key, (version, body), ENTRY_TIMEOUT)
    return body
