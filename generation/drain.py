"""Shutdown drains.

A process asked to stop (SIGTERM, as a deploy sends it) takes no new
generation, lets those it runs finish for up to LLM_DRAIN_SECONDS, then
stops the rest: they are stored `interrupted`, and their readers, here and
on other processes, get their last event as usual. Streams of this process
that follow a generation running elsewhere end at once with a `503
service_unavailable` error event, so their clients re-attach through
another process from the event they had.

The production server (`chatproject/gunicorn.py`) installs the signal
handler in each worker and waits for the drain before the worker exits.
"""

import logging
import signal
import threading
import time

from django.conf import settings

from chatproject.errors import ModelBusy, ServiceUnavailable

from . import eventlog, worker

logger = logging.getLogger(__name__)

_draining = threading.Event()
_done = threading.Event()


def draining() -> bool:
    return _draining.is_set()


def refuse_if_draining() -> None:
    if _draining.is_set():
        raise ModelBusy("This server is shutting down. Try again in a moment.")


def leaving_error() -> ServiceUnavailable:
    """What a stream following a generation elsewhere ends with."""
    return ServiceUnavailable("This server is restarting: re-attach to follow the answer.")


def begin(seconds: float | None = None) -> None:
    """Start draining (once), in a thread of its own."""
    if _draining.is_set():
        return
    _draining.set()
    seconds = settings.LLM_DRAIN_SECONDS if seconds is None else seconds
    threading.Thread(target=_drain, args=(seconds,), name="generation-drain", daemon=True).start()


def wait(timeout: float | None = None) -> bool:
    """Wait for the drain to end, if one began (True when it did)."""
    return not _draining.is_set() or _done.wait(timeout)


def _drain(seconds: float) -> None:
    try:
        running = worker.running_here()
        logger.info("draining: %d generations running, %g s to finish", len(running), seconds)
        deadline = time.monotonic() + seconds
        while worker.running_here() and time.monotonic() < deadline:
            time.sleep(0.05)
        left = worker.running_here()
        for generation in left:
            generation.stop()
        for generation in left:
            generation.wait(timeout=10)
        if left:
            logger.warning("drained: %d generations stopped at the deadline", len(left))
        eventlog.publisher.flush(timeout=5)  # their last events, to the readers elsewhere
    finally:
        _done.set()


def install(signum=signal.SIGTERM) -> None:
    """Drain on `signum`, then let the handler installed before this one
    (the server's own) do what it does."""
    previous = signal.getsignal(signum)

    def handle(number, frame):
        begin()
        if callable(previous):
            previous(number, frame)

    signal.signal(signum, handle)
