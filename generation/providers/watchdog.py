"""Ends model streams that yield no text for too long.

A read timeout alone does not: servers send keep-alive comments (llama.cpp's
server an SSE ping every 15 s) and empty chunks, which are bytes read but no
token. One thread watches every stream of the process.
"""

import logging
import threading
import time

logger = logging.getLogger(__name__)


class Watchdog:
    def __init__(self):
        self._cond = threading.Condition()
        self._deadlines: dict = {}  # stream -> monotonic deadline
        self._thread: threading.Thread | None = None
        self._wake_at = 0.0  # when the watching thread wakes up next

    def arm(self, stream, seconds: float) -> None:
        """Call `stream.expire()` unless disarmed within `seconds`."""
        deadline = time.monotonic() + seconds
        with self._cond:
            self._deadlines[stream] = deadline
            if self._thread is None or not self._thread.is_alive():  # first use, or forked
                self._thread = threading.Thread(target=self._watch, name="llm-watchdog", daemon=True)
                self._thread.start()
            elif deadline < self._wake_at:
                self._cond.notify()

    def disarm(self, stream) -> None:
        with self._cond:
            self._deadlines.pop(stream, None)

    def _watch(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                expired = [stream for stream, deadline in self._deadlines.items() if deadline <= now]
                for stream in expired:
                    del self._deadlines[stream]
                if not expired:
                    self._wake_at = min(self._deadlines.values(), default=now + 60)
                    self._cond.wait(self._wake_at - now)
                    continue
            for stream in expired:
                try:
                    stream.expire()
                except Exception:  # noqa: BLE001 - the watchdog must live on
                    logger.exception("could not end a stalled language model stream")


watchdog = Watchdog()
