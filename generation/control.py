"""Stops that cross processes at once: a Redis channel every process that
runs generations listens on.

Publishing is fire-and-forget; the stop is also recorded on the run's row
(`claims.request_stop`), which its process reads at its next heartbeat, so
a stop that misses the channel (Redis down, a listener reconnecting) still
arrives within a few seconds.
"""

import logging
import os
import threading
import time
from collections.abc import Callable

import redis

from . import eventlog

logger = logging.getLogger(__name__)

CHANNEL = "generation-stops"


def publish_stop(response_id) -> None:
    if not eventlog.enabled():
        return
    try:
        eventlog.client().publish(CHANNEL, str(response_id))
    except redis.RedisError as exc:
        logger.warning("stop of %s not published (%s); its process finds it at its next heartbeat", response_id, exc)


_listener: threading.Thread | None = None
_listener_pid = None
_listener_lock = threading.Lock()


def listen(on_stop: Callable[[str], None]) -> None:
    """Call `on_stop(response_id)` for every stop published, in a thread of
    this process (started once)."""
    global _listener, _listener_pid
    if not eventlog.enabled():
        return
    with _listener_lock:
        if _listener is not None and _listener.is_alive() and _listener_pid == os.getpid():
            return
        _listener_pid = os.getpid()
        _listener = threading.Thread(target=_listen, args=(on_stop,), name="generation-stops", daemon=True)
        _listener.start()


def _listen(on_stop: Callable[[str], None]) -> None:
    failures = 0
    while True:
        if not eventlog.enabled():  # the settings changed under it (tests do)
            time.sleep(1.0)
            continue
        try:
            pubsub = eventlog.client(read_timeout=10.0).pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(CHANNEL)
            failures = 0
            while True:
                message = pubsub.get_message(timeout=5.0)
                if message is not None and message["type"] == "message":
                    on_stop(message["data"])
        except redis.RedisError as exc:
            failures += 1
            if failures == 1:
                logger.warning("not listening for stops on Redis (%s); heartbeats carry them meanwhile", exc)
            time.sleep(min(0.2 * failures, 2.0))
        except Exception:  # noqa: BLE001 - the listener must live on
            logger.exception("stop listener failed")
            time.sleep(1.0)
