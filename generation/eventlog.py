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
import os
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
    """One generation's events, from its worker thread, which hands each to
    this process's publisher and goes straight back to the model: a slow or
    absent Redis never slows an answer down."""

    def __init__(self, response_id):
        self.key = key(response_id)

    def delta(self, offset: int, text: str) -> None:
        publisher.put(self.key, {"o": offset, "t": text})

    def end(self, event: events.Event) -> None:
        data = json.dumps(event.data, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))
        publisher.put(self.key, {"e": event.name, "d": data})


class Publisher:
    """One thread per process writes every generation's events to Redis, in
    order, one entry per piece; what piles up while a write is under way goes
    out together, in one pipelined round trip. Never raises: while Redis
    cannot be written, the pieces wait (merged, so that the log has no gaps
    once it can) and readers elsewhere follow the store."""

    def __init__(self):
        self._cond = threading.Condition()
        self._pending: dict[str, list[dict]] = {}  # log key -> its entries to write, in order
        self._started: set[str] = set()  # logs given their expiry while running
        self._retry_at = 0.0
        self._writing = False
        self._thread: threading.Thread | None = None
        self._pid = None

    def put(self, log_key: str, fields: dict) -> None:
        with self._cond:
            self._pending.setdefault(log_key, []).append(fields)
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="generation-events-publisher", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def flush(self, timeout: float) -> bool:
        """Wait until everything put so far is written (True), or `timeout`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._writing:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending or time.monotonic() < self._retry_at:
                    self._cond.wait(max(self._retry_at - time.monotonic(), 0.05) if self._pending else None)
                batch, self._pending, self._writing = self._pending, {}, True
            try:
                self._write(batch)
                self._retry_at = 0.0
            except Exception as exc:  # noqa: BLE001 - the publisher must live on
                if self._retry_at == 0.0:
                    logger.warning("generation events not written to Redis (%s); readers elsewhere follow the store", exc)
                self._retry_at = time.monotonic() + RETRY_AFTER
                with self._cond:
                    for log_key, entries in batch.items():
                        self._pending[log_key] = _merged(entries + self._pending.get(log_key, []))
            finally:
                with self._cond:
                    self._writing = False
                    self._cond.notify_all()

    def _write(self, batch: dict[str, list[dict]]) -> None:
        if not enabled():
            return  # no Redis any more (the settings changed): nobody to tell
        pipe = client().pipeline(transaction=False)
        started, ended = set(), set()
        for log_key, entries in batch.items():
            for fields in entries:
                pipe.xadd(log_key, fields)
            if "e" in entries[-1]:
                pipe.expire(log_key, KEEP_AFTER_END)
                ended.add(log_key)
            elif log_key not in self._started:
                pipe.expire(log_key, KEEP_WHILE_RUNNING)
                started.add(log_key)
        pipe.execute()
        self._started = (self._started | started) - ended


def _merged(entries: list[dict]) -> list[dict]:
    """Consecutive deltas as one (their offsets are contiguous)."""
    merged = []
    for fields in entries:
        if "e" not in fields and merged and "e" not in merged[-1]:
            merged[-1] = {"o": merged[-1]["o"], "t": merged[-1]["t"] + fields["t"]}
        else:
            merged.append(fields)
    return merged


publisher = Publisher()


def write_end(response_id, event: events.Event) -> None:
    """The last event of a generation ended by another process than its own
    (its process died, or could not be reached)."""
    if enabled():
        Writer(response_id).end(event)
