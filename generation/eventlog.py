"""The event log of each running generation: a Redis Stream, written by the
process that runs it, read by any process (through `hub`).

Entries are the stream's deltas (`o` offset, `t` text) and its last event
(`e` its name, `d` its JSON). A log is kept a while after its generation
ended, so a reader that re-attaches late still finds it; the record is the
text in MongoDB, and a log that is missing (expired, or Redis down) is not an
error: readers fall back to the stored text.

With `REDIS_URL` unset there is no log: one process runs and serves every
generation from its own memory.
"""

import dataclasses
import json
import logging
import threading
import time

import redis
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from . import events

logger = logging.getLogger(__name__)

# The hub reads many logs in one XREAD; in a Redis Cluster that needs the
# keys in one hash slot, hence the common tag.
KEY_PREFIX = "{generation-events}"
KEEP_WHILE_RUNNING = 3600  # s: the log of a generation whose process died outlives it by this
KEEP_AFTER_END = 600  # s: re-attaching after the end still finds the log
RETRY_AFTER = 1.0  # s: after a failed write, the next attempt waits this long


class LogUnavailable(Exception):
    """Redis cannot be read: fall back to the stored text."""


def enabled() -> bool:
    return bool(settings.REDIS_URL)


def key(response_id) -> str:
    return f"{KEY_PREFIX}:{response_id}"


_clients: dict[tuple, redis.Redis] = {}
_clients_lock = threading.Lock()


def client(*, read_timeout: float = 1.0) -> redis.Redis:
    """A client of REDIS_URL whose reads wait at most `read_timeout` (a
    blocking XREAD needs more than its block time)."""
    wanted = (settings.REDIS_URL, read_timeout)
    with _clients_lock:
        found = _clients.get(wanted)
        if found is None:
            found = _clients[wanted] = redis.Redis.from_url(
                settings.REDIS_URL,
                socket_connect_timeout=0.25,
                socket_timeout=read_timeout,
                decode_responses=True,
            )
        return found


@dataclasses.dataclass(frozen=True)
class Entry:
    id: str  # the stream's entry id
    offset: int | None = None  # a delta: where its text goes
    text: str | None = None
    end: events.Event | None = None  # the last event


def parse(entry_id: str, fields: dict) -> Entry:
    if "e" in fields:
        return Entry(entry_id, end=events.end(fields["e"], json.loads(fields["d"])))
    return Entry(entry_id, offset=int(fields["o"]), text=fields["t"])


def read(response_id, *, after: str = "0-0") -> list[Entry]:
    """The entries of a log after entry `after`, oldest first."""
    try:
        found = client().xrange(key(response_id), min=f"({after}" if after != "0-0" else "-")
    except redis.RedisError as exc:
        raise LogUnavailable(str(exc)) from exc
    return [parse(entry_id, fields) for entry_id, fields in found]


class Writer:
    """Appends one generation's events, from its worker thread. Never raises:
    text it could not write is sent with the next delta (the log has no
    gaps), and when Redis stays down the readers elsewhere follow the store."""

    def __init__(self, response_id):
        self.key = key(response_id)
        self._pending: list[str] = []
        self._pending_offset = 0
        self._retry_at = 0.0
        self._started = False

    def delta(self, offset: int, text: str) -> None:
        if not self._pending:
            self._pending_offset = offset
        self._pending.append(text)
        if time.monotonic() >= self._retry_at:
            self._write()

    def end(self, event: events.Event) -> None:
        self._write(end=event)

    def _write(self, end: events.Event | None = None) -> None:
        try:
            pipe = client().pipeline(transaction=False)
            if self._pending:
                pipe.xadd(self.key, {"o": self._pending_offset, "t": "".join(self._pending)})
            if end is not None:
                data = json.dumps(end.data, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))
                pipe.xadd(self.key, {"e": end.name, "d": data})
                pipe.expire(self.key, KEEP_AFTER_END)
            elif not self._started:
                pipe.expire(self.key, KEEP_WHILE_RUNNING)
            pipe.execute()
        except redis.RedisError as exc:
            if self._retry_at == 0.0:
                logger.warning("generation events not written to Redis (%s); readers elsewhere follow the store", exc)
            self._retry_at = time.monotonic() + RETRY_AFTER
            return
        self._pending.clear()
        self._started = True
        self._retry_at = 0.0


def write_end(response_id, event: events.Event) -> None:
    """The last event of a generation ended by another process than its own
    (its process died, or could not be reached)."""
    if enabled():
        Writer(response_id).end(event)
