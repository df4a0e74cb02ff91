"""One reader of the event logs per process, fanning out to the streams it
serves.

A blocked XREAD holds its Redis connection, so readers do not each block on
their own: one thread per process reads, in one XREAD, every log that a
stream of this process follows, and hands each entry to the subscriptions
of that log. A subscription added while the thread is blocked wakes it by a
write to the thread's own wake-up stream. When Redis fails, every
subscription is told so and its stream falls back to the stored text.
"""

import collections
import logging
import os
import threading
import time
import uuid

import redis

from .eventlog import KEY_PREFIX, Entry, LogUnavailable, client, parse

logger = logging.getLogger(__name__)

BLOCK_MS = 5000


class Subscription:
    def __init__(self, hub: "Hub", log_key: str, after: str):
        self.hub, self.key = hub, log_key
        self.last_id = after  # the last entry handed over
        self._entries: collections.deque[Entry] = collections.deque()
        self._cond = threading.Condition()
        self._failed = False

    def deliver(self, entries: list[Entry]) -> None:
        with self._cond:
            self._entries.extend(entries)
            self._cond.notify_all()

    def fail(self) -> None:
        with self._cond:
            self._failed = True
            self._cond.notify_all()

    def take(self, timeout: float) -> list[Entry]:
        """The entries after the last one taken (none after `timeout`
        seconds); raises LogUnavailable once Redis failed."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._entries and not self._failed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return []
                self._cond.wait(left)
            if self._failed:
                raise LogUnavailable("the event log cannot be read")
            taken = [entry for entry in self._entries if _after(entry.id, self.last_id)]
            self._entries.clear()
        if taken:
            self.last_id = taken[-1].id
        return taken

    def close(self) -> None:
        self.hub.unsubscribe(self)


def _after(entry_id: str, last_id: str) -> bool:
    def parts(value):
        ms, _, seq = value.partition("-")
        return int(ms), int(seq or 0)

    return parts(entry_id) > parts(last_id)


class Hub:
    def __init__(self):
        self._lock = threading.Lock()
        self._wanted = threading.Condition(self._lock)  # some log is followed
        self._subscriptions: dict[str, set[Subscription]] = {}
        self._positions: dict[str, str] = {}
        self._thread: threading.Thread | None = None
        self._pid = None
        self._wake_key = f"{KEY_PREFIX}:wake:{uuid.uuid4()}"
        self._wake_id = "0-0"

    def subscribe(self, log_key: str, *, after: str) -> Subscription:
        subscription = Subscription(self, log_key, after)
        with self._lock:
            self._ensure_thread()
            known = self._positions.get(log_key)
            if known is None or _after(known, after):
                self._positions[log_key] = after
            self._subscriptions.setdefault(log_key, set()).add(subscription)
            self._wanted.notify()
        self._wake()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            subscribers = self._subscriptions.get(subscription.key)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._subscriptions[subscription.key]
                    self._positions.pop(subscription.key, None)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="generation-events-hub", daemon=True)
            self._thread.start()

    def _wake(self) -> None:
        try:
            pipe = client().pipeline(transaction=False)
            pipe.xadd(self._wake_key, {"w": "1"}, maxlen=1)
            pipe.expire(self._wake_key, 3600)
            pipe.execute()
        except redis.RedisError:
            pass  # the hub finds Redis down too and fails its subscriptions

    def _run(self) -> None:
        failures = 0
        reader = client(read_timeout=BLOCK_MS / 1000 + 5)
        while True:
            with self._wanted:
                while not self._positions:
                    self._wanted.wait()
                streams = dict(self._positions)
            try:
                found = reader.xread({**streams, self._wake_key: self._wake_id}, block=BLOCK_MS)
                for log_key, entries in found or []:
                    self._hand_out(log_key, entries)
            except Exception as exc:  # noqa: BLE001 - the hub must live on; its streams read the store
                failures += 1
                if failures == 1:
                    logger.warning("generation events cannot be read from Redis: %s", exc)
                self._fail_all()
                time.sleep(min(0.1 * failures, 2.0))
                continue
            failures = 0

    def _hand_out(self, log_key: str, entries) -> None:
        if log_key == self._wake_key:
            self._wake_id = entries[-1][0]
            return
        parsed = [parse(entry_id, fields) for entry_id, fields in entries]
        with self._lock:
            if log_key in self._positions:
                self._positions[log_key] = parsed[-1].id
            subscribers = list(self._subscriptions.get(log_key, ()))
        for subscription in subscribers:
            subscription.deliver(parsed)

    def _fail_all(self) -> None:
        with self._lock:
            subscriptions = [s for subscribers in self._subscriptions.values() for s in subscribers]
            self._subscriptions.clear()
            self._positions.clear()
        for subscription in subscriptions:
            subscription.fail()


hub = Hub()
