"""Generations running in this process.

Each runs on a thread of its own, outside the request that started it: it
asks the model (`providers`), hands each piece of text to this process's
readers at once (`Generation`) and to every other process's through the
event log (`eventlog`), saves the text about once a second (the record, in
MongoDB), and at the end stores the pair as it ended, releases its run and
sends the last event.
"""

import logging
import threading
import time
from collections.abc import Iterator

from django.conf import settings
from django.db import connection
from django.utils import timezone

from chatproject.cache import bump_chat
from chatproject.errors import (
    GENERATION_ENDING_ERRORS,
    ContentStoreUnavailable,
    DomainError,
    ModelBusy,
    ModelError,
    NotFound,
)
from chats import content_repository
from chats import services as chat_services
from chats.content_repository import StoredPair
from chats.models import Chat
from search import index as search_index

from . import claims, control, endings, eventlog, liveness, providers

logger = logging.getLogger(__name__)

SAVE_EVERY = 1.0  # seconds between two saves of the text so far


class Generation:
    """One generation running in this process: its text so far, shared with
    the readers of this process, and how it ended."""

    def __init__(self, *, chat_id, branch_id, pair: StoredPair, position: int, uncounted: bool):
        self.chat_id, self.branch_id = str(chat_id), str(branch_id)
        self.response_id = pair.response_id
        self.started = pair  # the pair as stored at the start
        self.position = position
        self.pieces: list[str] = []
        self.length = 0
        self.final: StoredPair | None = None
        self.error: DomainError | None = None
        self.end = None  # the last event, once ended
        self._changed = threading.Condition()
        self.stream: providers.CompletionStream | None = None
        self.stop_requested = False
        # add-message's pair: counted at its first save of the text.
        self.uncounted = uncounted
        self.log = eventlog.Writer(pair.response_id) if eventlog.enabled() else None

    @property
    def done(self) -> bool:
        return self.end is not None

    def text(self) -> str:
        return "".join(self.pieces)

    def add(self, piece: str) -> None:
        with self._changed:
            self.pieces.append(piece)
            self.length += len(piece)
            self._changed.notify_all()

    def finish(self, final: StoredPair, error: DomainError | None) -> None:
        end = endings.end_event(final, error, position=self.position)
        if self.log is not None:
            self.log.end(end)
        with self._changed:
            self.final, self.error, self.end = final, error, end
            self._changed.notify_all()

    def changes(self, *, offset: int, idle: float) -> Iterator[tuple[str, int] | None]:
        """(text, offset) of what is generated from `offset` on, as it comes,
        and None after each `idle` seconds without any; ends when the
        generation does."""
        index, seen = 0, 0
        while True:
            with self._changed:
                if index == len(self.pieces) and not self.done:
                    self._changed.wait(timeout=idle)
                new = self.pieces[index:]
                index = len(self.pieces)
                finished = self.done
            if not new and not finished:
                yield None
            for piece in new:
                start, seen = seen, seen + len(piece)
                if seen <= offset:
                    continue
                cut = max(offset - start, 0)
                yield piece[cut:], start + cut
            if finished and index == len(self.pieces):
                return

    def wait(self, timeout: float | None = None) -> StoredPair | None:
        """The pair as finally stored, once the generation ended (None when
        `timeout` seconds passed first)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while not self.done:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._changed.wait(timeout=5 if left is None else min(left, 5))
        return self.final

    def stop(self) -> None:
        """Stop at once, from any thread: the model's stream is closed."""
        self.stop_requested = True
        if self.stream is not None:
            self.stream.close()


_running: dict[str, Generation] = {}
_early_stops: set[str] = set()  # stopped between admission and launch
_running_lock = threading.Lock()


def running(response_id) -> Generation | None:
    with _running_lock:
        return _running.get(str(response_id))


def running_here() -> list[Generation]:
    with _running_lock:
        return list(_running.values())


def stop(response_id) -> None:
    """Stop a generation of this process (admitted, perhaps not launched yet)."""
    with _running_lock:
        generation = _running.get(str(response_id))
        if generation is None:
            _early_stops.add(str(response_id))
    if generation is not None:
        generation.stop()


def forget(response_id) -> None:
    """A generation that will not be launched here after all."""
    with _running_lock:
        _early_stops.discard(str(response_id))


class Slot:
    """A model context of this process, for the `local` provider (at most
    LLM_WORKERS generations run the model in one process; a new one waits
    LLM_QUEUE_SECONDS for a place, then 503 `model_busy`). Other providers
    need none: their generations are limited across the deployment only."""

    _lock = threading.Lock()
    _semaphores: dict[int, threading.BoundedSemaphore] = {}

    def __init__(self):
        self._semaphore = None
        if providers.runs_in_process():
            with Slot._lock:
                size = max(1, settings.LLM_WORKERS)
                self._semaphore = Slot._semaphores.setdefault(size, threading.BoundedSemaphore(size))
            if not self._semaphore.acquire(timeout=settings.LLM_QUEUE_SECONDS):
                raise ModelBusy()

    def release(self) -> None:
        semaphore, self._semaphore = self._semaphore, None
        if semaphore is not None:
            semaphore.release()


def launch(*, slot: Slot, chat_id, branch_id, pair: StoredPair, position: int, uncounted: bool, messages) -> Generation:
    """Run the generation of a stored `generating` pair, whose run this
    process holds, on a thread of its own (the slot passes to it)."""
    generation = Generation(chat_id=chat_id, branch_id=branch_id, pair=pair, position=position, uncounted=uncounted)
    control.listen(liveness.stop_local)
    with _running_lock:
        _running[generation.response_id] = generation
        if generation.response_id in _early_stops:
            _early_stops.discard(generation.response_id)
            generation.stop_requested = True
    thread = threading.Thread(
        target=_run, args=(generation, messages, slot), name=f"generation-{generation.response_id[:8]}", daemon=True
    )
    try:
        thread.start()
    except Exception:
        with _running_lock:
            _running.pop(generation.response_id, None)
        raise
    return generation


def _run(generation: Generation, messages: list[dict], slot: Slot) -> None:
    try:
        _generate(generation, messages)
    except Exception:  # noqa: BLE001 - a worker must never die silently
        logger.exception("generation %s failed", generation.response_id)
        if not generation.done:
            # Not left `generating` (and its branch claimed) until it counts as dead.
            text = generation.text()
            try:
                _finish(generation, text, endings.failed(text, _FAILED), _FAILED)
            except Exception:  # noqa: BLE001 - its run is left to the reaper
                logger.exception("generation %s could not be ended", generation.response_id)
    finally:
        if not generation.done:
            # Its readers here must not wait forever for an end the stores
            # could not take (the reaper ends the stored pair later).
            generation.finish(endings.applied(generation.started, generation.text(), endings.failed("", _FAILED)), _FAILED)
        slot.release()
        liveness.forget(generation.response_id)
        with _running_lock:
            _running.pop(generation.response_id, None)
        connection.close()  # this thread ends: its connection must not outlive it


_FAILED = ModelError("The generation failed.")


def _count(generation: Generation) -> DomainError | None:
    """Count add-message's pair, once: NotFound when its branch was deleted
    meanwhile (and its content with it)."""
    if not generation.uncounted:
        return None
    generation.uncounted = False
    ids = {"chat_id": generation.chat_id, "branch_id": generation.branch_id}
    try:
        if claims.count(response_id=generation.response_id, **ids):
            return None
        chat_services.discard_lost_branch(**ids)
    except DomainError as exc:
        return exc
    except Exception:  # noqa: BLE001 - the answer is worth more than its count
        # Still marked uncounted on its run: the release counts it.
        logger.exception("pair %s could not be counted yet", generation.response_id)
    finally:
        connection.close()  # not held while the model answers: back to the pool
    return None


def _generate(generation: Generation, messages: list[dict]) -> None:
    ids = {"chat_id": generation.chat_id, "branch_id": generation.branch_id, "response_id": generation.response_id}
    limit = settings.MAX_MESSAGE_CHARS
    stream = None
    error: DomainError | None = None
    ended_elsewhere = truncated = False
    try:
        stream = generation.stream = providers.start(messages)
        if generation.stop_requested:
            stream.close()
        last_save = time.monotonic()
        for piece in stream:
            room = limit - generation.length
            if len(piece) >= room:
                piece, truncated = piece[:room], True
            if piece:
                offset = generation.length
                generation.add(piece)
                if generation.log is not None:
                    generation.log.delta(offset, piece)
            if truncated:
                break
            if time.monotonic() - last_save >= SAVE_EVERY:
                last_save = time.monotonic()
                # Counted at its first save, a second in: the first text
                # (which PostgreSQL work beside it would slow down) is out.
                error = _count(generation)
                if error is not None:
                    break
                if not content_repository.save_generation(**ids, response=generation.text()):
                    ended_elsewhere = True  # ended by a process that could not reach this one (or gone)
                    break
                bump_chat(generation.chat_id)
    except GENERATION_ENDING_ERRORS as exc:
        error = exc
    finally:
        if stream is not None:
            stream.close()  # no more tokens: the server stops generating
    # Ended within its first second: counted now, unless its branch went.
    error = _count(generation) or error

    text = generation.text()
    if error is not None:
        fields = endings.failed(text, error)
    elif ended_elsewhere or generation.stop_requested:
        fields = endings.interrupted()
    else:
        result = stream.result
        fields = endings.complete(
            finish_reason="length" if truncated else (result.finish_reason if result else "stop"),
            usage=result.usage if result else None,
            model=result.model if result else None,
        )
    _finish(generation, text, fields, error)


def _finish(generation: Generation, text: str, fields: dict, error: DomainError | None) -> None:
    """Store the pair as it ended, release the run, tell the readers."""
    ids = {"chat_id": generation.chat_id, "branch_id": generation.branch_id, "response_id": generation.response_id}
    final = None
    saved = False
    try:
        content_repository.save_generation(**ids, response=text, outcome=fields)
        saved = True
        final = content_repository.read_pair(chat_id=generation.chat_id, response_id=generation.response_id)
        if final is None and error is None:
            error = NotFound("The chat or branch of this answer was deleted.")
        if final is not None:
            search_index.index_pair(chat_id=generation.chat_id, pair=final)
    except ContentStoreUnavailable as exc:
        logger.error("generation %s could not be saved: %s", generation.response_id, exc)
        error = error or exc
    try:
        if saved:
            claims.release(generation.response_id)
            Chat.objects.filter(pk=generation.chat_id).update(updated_at=timezone.now())
        # else: its run stays, its heartbeat stops, and the reaper of some
        # process ends the pair once the store answers again.
    finally:
        bump_chat(generation.chat_id)
        if final is None:
            # Gone (its branch or chat was deleted meanwhile) or not saved.
            final = endings.applied(generation.started, text, fields)
        generation.finish(final, error)


def stop_all_here() -> None:
    for generation in running_here():
        generation.stop()

