"""Every cache key of the service is built here.

Reads of a chat (its pages, its branch list) are cached per chat under a
*generation*: a number kept in the cache that every write to the chat bumps
(`bump_chat`), so older entries are never read again and expire on their own.
The requesting user is part of every entry's key, so an entry can only ever be
served to the user whose request filled it. With Redis down the cache answers
nothing and every read goes to the stores.
"""

import time

from django.core.cache import cache

# Short: a write made while Redis was unreachable could not bump its chat's
# generation, and this bounds how long the entries from before it can live.
ENTRY_TIMEOUT = 5 * 60
GENERATION_TIMEOUT = 60 * 60 * 24 * 7


def _generation_key(chat_id):
    return f"chat:{chat_id}:generation"


def _generation(chat_id):
    """The chat's current generation, started when missing; None when the cache
    does not answer (then nothing is cached)."""
    key = _generation_key(chat_id)
    generation = cache.get(key)
    if generation is None:
        # Seeded from the clock, so a generation that was evicted or expired
        # comes back higher than any it replaces and old entries stay unreachable.
        cache.add(key, time.time_ns(), GENERATION_TIMEOUT)
        generation = cache.get(key)
    return generation


def bump_chat(chat_id):
    """Make every cached read of this chat stale. Call after the write commits."""
    key = _generation_key(chat_id)
    try:
        cache.incr(key)
    except ValueError:
        # Missing (never read, or evicted): a fresh clock-seeded value is higher
        # than any earlier one.
        cache.set(key, time.time_ns(), GENERATION_TIMEOUT)


def chat_read_key(*, user_id, chat_id, generation, view, params):
    parts = ":".join(str(p) for p in params)
    return f"chat:{chat_id}:{generation}:user:{user_id}:{view}:{parts}"


def cached_chat_read(*, user_id, chat_id, view, params, compute):
    """Return `compute()`, from the cache when this user read the same thing of
    this chat since its last write."""
    generation = _generation(chat_id)
    if generation is None:
        return compute()
    key = chat_read_key(user_id=user_id, chat_id=chat_id, generation=generation, view=view, params=params)
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, ENTRY_TIMEOUT)
    return value
