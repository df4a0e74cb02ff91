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

import functools
import logging
import time

from django.core.cache import cache, caches
from django.db import transaction
from django_redis.cache import RedisCache
from redis.exceptions import RedisError

from chatproject.api.renderers import to_json

logger = logging.getLogger(__name__)

# Short: a write made while Redis was unreachable could not bump its chat's
# version, and this bounds how long the entries from before it can live.
ENTRY_TIMEOUT = 5 * 60
VERSION_TIMEOUT = 60 * 60 * 24 * 7

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
    client = _redis()
    if client is not None:
        try:
            _bump_script(client)(
                keys=[cache.make_key(key), cache.make_key(_entries_key(chat_id))],
                args=[time.time_ns(), VERSION_TIMEOUT],
                client=client,
            )
        except RedisError:
            logger.warning("Redis unreachable: chat %s's cached reads not invalidated", chat_id, exc_info=True)
        return
    try:
        cache.incr(key)
    except ValueError:
        # Missing (never read, or evicted): a fresh clock-seeded value is higher
        # than any earlier one.
        cache.set(key, time.time_ns(), VERSION_TIMEOUT)


def _entries_key(chat_id):
    return f"chat:{chat_id}:entries"


def chat_read_key(*, user_id, chat_id, view, params):
    # "json:": entries are raw JSON bytes with their version. Earlier code
    # stored pickled tuples under "chat:…:user:…": a new name, so that during
    # a rolling deploy neither reads what the other wrote.
    parts = ":".join(str(p) for p in params)
    return f"chat:{chat_id}:json:{user_id}:{view}:{parts}"


# A share shows a path that never changes: its pages are kept as long as
# this, and the share itself is looked up on every read (a deleted, expired
# or disabled share, or a hidden chat, answers 404 before any page is read).
SHARED_PAGE_TIMEOUT = 60 * 60


def shared_page_messages(*, share_id, offset, limit, compute):
    """The messages of a page of a share, from the cache when read before.
    `compute()` gives (messages, final): a page still changing (a pair in it
    being generated) is not kept."""
    key = f"share:{share_id}:page:{offset}:{limit}"
    found = cache.get(key)
    if found is None:
        found, final = compute()
        if final:
            cache.set(key, found, SHARED_PAGE_TIMEOUT)
    return found


class Prefetch:
    """Redis keys a request will read, to be read in a round trip it makes
    anyway (the rate limit's, `chatproject.api.throttles`): `values` holds
    what was found, or None until then."""

    def __init__(self, keys):
        self.keys = keys
        self.values = None


def chat_read_prefetch(*, user_id, chat_id, view, params) -> Prefetch | None:
    """What `cached_chat_json` with these arguments looks up (the chat's
    version and the entry), as a Prefetch; None when the cache is not Redis."""
    if _redis() is None:
        return None
    entry_key = chat_read_key(user_id=user_id, chat_id=chat_id, view=view, params=params)
    return Prefetch([cache.make_key(_version_key(chat_id)), cache.make_key(entry_key)])


def cached_chat_json(
    *, user_id, chat_id, view, params, compute, prefetch: Prefetch | None = None, store_later=None
):
    """The JSON bytes of `compute()`, from the cache when this user read the
    same thing of this chat since its last write. `prefetch`: the lookup, if
    made already (`chat_read_prefetch` with the same arguments).
    `store_later(store)`: when given, it is handed the storing of a computed
    entry, a call to make once the caller's own work is done, instead of it
    being stored here."""
    version_key = _version_key(chat_id)
    entry_key = chat_read_key(user_id=user_id, chat_id=chat_id, view=view, params=params)
    if prefetch is not None and prefetch.values is not None and prefetch.keys[1] == cache.make_key(entry_key):
        version, entry = prefetch.values
        body = _current(entry, version)
    else:
        version, body = _lookup(version_key, entry_key)
    if body is not None:
        return body
    if version is None:
        # Start the version before reading, so a write landing during the
        # read bumps it and the entry below is never served. Seeded from the
        # clock, so it comes back higher than any evicted or expired one.
        cache.add(version_key, time.time_ns(), VERSION_TIMEOUT)
        version = _stamp(cache.get(version_key))
    body = to_json(compute())
    if version is not None:
        store = functools.partial(_store, chat_id, entry_key, version, body)
        if store_later is None:
            store()
        else:
            store_later(store)
    return body


# An entry is the version it was computed under, a colon, and the JSON: a hit
# is one round trip (the version and the entry together) and returns the
# bytes as they are. With Redis they are read and written with the client
# itself (django-redis would pickle them), and each chat keeps the set of its
# entries' keys, so that a write deletes them as it bumps the version: the
# read after a write finds no entry to fetch only to throw away (a whole
# 1,000-pair chat is 2.5 MB: 2.9 ms here). The version still decides: an
# entry a slower read stores after the bump is never served.
BUMP_SCRIPT = """
local entries = redis.call('SMEMBERS', KEYS[2])
for first = 1, #entries, 1000 do
  redis.call('DEL', unpack(entries, first, math.min(first + 999, #entries)))
end
redis.call('DEL', KEYS[2])
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('INCR', KEYS[1])
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return tonumber(ARGV[1])
"""

_scripts = {}


def _stamp(version):
    # The version as Redis holds it: django-redis stores integers as digits.
    return None if version is None else str(version).encode()


def _current(entry, version):
    """The JSON of a stamped entry if it was computed under `version`."""
    if entry is None or version is None:
        return None
    stamp, _, body = entry.partition(b":")
    return body if stamp == version else None


def _redis():
    backend = caches["default"]
    return backend.client.get_client(write=True) if isinstance(backend, RedisCache) else None


def _bump_script(client):
    known = _scripts.get(id(client))
    if known is None or known[0] is not client:
        known = _scripts[id(client)] = (client, client.register_script(BUMP_SCRIPT))
    return known[1]


def _lookup(version_key, entry_key):
    """(the chat's version, the entry's JSON if computed under it), as bytes or None."""
    client = _redis()
    if client is None:
        found = cache.get_many([version_key, entry_key])
        version = _stamp(found.get(version_key))
        return version, _current(found.get(entry_key), version)
    try:
        version, entry = client.mget([cache.make_key(version_key), cache.make_key(entry_key)])
    except RedisError:
        logger.warning("Redis unreachable: chat read served from the stores", exc_info=True)
        return None, None
    return version, _current(entry, version)


def _store(chat_id, entry_key, version, body):
    stamped = version + b":" + body
    client = _redis()
    if client is None:
        cache.set(entry_key, stamped, ENTRY_TIMEOUT)
        return
    entry_key, entries_key = cache.make_key(entry_key), cache.make_key(_entries_key(chat_id))
    try:
        with client.pipeline(transaction=False) as pipe:
            pipe.set(entry_key, stamped, ex=ENTRY_TIMEOUT)
            pipe.sadd(entries_key, entry_key)
            pipe.expire(entries_key, ENTRY_TIMEOUT)
            pipe.execute()
    except RedisError:
        logger.warning("Redis unreachable: chat read not cached", exc_info=True)
