"""Reading a generation: the events of one stream, from wherever the
generation's events are.

- It runs in this process: from its memory, as each piece comes.
- It runs elsewhere: from its event log in Redis, through this process's
  `hub`, within milliseconds of the process generating it.
- No log to read (no Redis configured, Redis down, the log expired, or a
  writer that could not reach Redis): from the text saved in MongoDB, polled
  every POLL_EVERY seconds, about a second behind.

A stream starts with `pair` (the text so far) unless the client says how
far it got (`after`); then every character from there on, exactly once, in
`delta`s; then `done` or `error`. While nothing is due, keep-alives.
"""

import dataclasses
import time
from collections.abc import Iterator

from django.conf import settings

from chatproject.errors import NotFound, body_of
from chats import content_repository
from chats.content_repository import GENERATING, StoredPair
from chats.representations import pair_representation

from . import claims, drain, endings, eventlog, events, liveness, worker
from .eventlog import LogUnavailable
from .hub import hub

POLL_EVERY = 0.5  # seconds between two reads of the stored text
SILENCE = 10.0  # seconds without any entry in a log before the store is asked why
TAKE_EVERY = 1.0

Piece = tuple[int, str]  # (offset, text)


def attach(*, chat_id, pair: StoredPair, position: int, after: int | None) -> Iterator[events.Event | None]:
    """The events of the generation of `pair` (as read from the store) for
    one reader: `pair` and everything after it, or, with `after`, everything
    after that character. None stands for a keep-alive. Where to read from is
    found now, in the request; the stream itself needs no database."""
    source = _source(chat_id=chat_id, pair=pair, position=position)
    snapshot = source.snapshot()

    def produced():
        sent = after
        if sent is None:
            yield events.pair(pair_representation(snapshot, position=position))
            sent = len(snapshot.response)
        yield from _deltas(pair.response_id, source.pieces(), sent=sent)

    return produced()


def attach_local(generation: worker.Generation) -> Iterator[events.Event | None]:
    """The stream of the request that started `generation`: `pair` as stored
    at the start, then everything."""
    yield events.pair(pair_representation(generation.started, position=generation.position))
    yield from _deltas(generation.response_id, _Local(generation, generation.started).pieces(), sent=0)


def _source(*, chat_id, pair: StoredPair, position: int):
    local = worker.running(pair.response_id)
    if local is not None and not local.done and pair.status == GENERATING:
        return _Local(local, pair)
    if pair.status == GENERATING:
        run = claims.get(pair.response_id)
        if run is None or claims.is_dead(run.heartbeat_at):
            pair = liveness.recover(chat_id=chat_id, response_id=pair.response_id) or pair
        elif eventlog.enabled():
            try:
                return _Log(chat_id, pair, position)
            except LogUnavailable:
                pass
    return _Store(chat_id, pair, position)


def _deltas(response_id: str, pieces, *, sent: int) -> Iterator[events.Event | None]:
    for item in pieces:
        if item is None or isinstance(item, events.Event):
            if item is not None and not item.id:
                item = dataclasses.replace(item, id=str(sent))  # a cut: go on from here
            yield item
            if item is not None:
                return
            continue
        offset, text = item
        end = offset + len(text)
        if end <= sent:
            continue
        yield events.delta(response_id, text[max(sent - offset, 0):], max(sent, offset))
        sent = end


class _Local:
    """A generation of this process."""

    def __init__(self, generation: worker.Generation, pair: StoredPair):
        self.generation = generation
        self.text = generation.text()
        self.pair = pair

    def snapshot(self) -> StoredPair:
        return endings.applied(self.pair, self.text, {})

    def pieces(self):
        for change in self.generation.changes(offset=0, idle=settings.SSE_KEEP_ALIVE_SECONDS):
            yield None if change is None else (change[1], change[0])
        yield self.generation.end


class _Store:
    """The text saved in MongoDB, polled."""

    def __init__(self, chat_id, pair: StoredPair, position: int):
        self.chat_id, self.pair, self.position = chat_id, pair, position

    def snapshot(self) -> StoredPair:
        return self.pair

    def pieces(self, current: StoredPair | None = None):
        current = current or self.pair
        quiet_since = time.monotonic()
        while True:
            yield (0, current.response)
            if current.status != GENERATING:
                yield endings.stored_end_event(current, position=self.position)
                return
            if drain.draining():
                yield events.cut(body_of(drain.leaving_error()))
                return
            time.sleep(POLL_EVERY)
            if time.monotonic() - quiet_since >= settings.SSE_KEEP_ALIVE_SECONDS:
                quiet_since = time.monotonic()
                yield None
            latest = content_repository.read_pair(chat_id=self.chat_id, response_id=self.pair.response_id)
            if latest is None:
                yield events.end("error", body_of(NotFound("The pair was deleted.")))
                return
            if len(latest.response) > len(current.response):
                quiet_since = time.monotonic()
            current = latest


class _Log:
    """The generation's event log in Redis."""

    def __init__(self, chat_id, pair: StoredPair, position: int):
        self.chat_id, self.pair, self.position = chat_id, pair, position
        self.entries = eventlog.read(pair.response_id)
        self._sent = 0  # how far the log's text reaches (a later entry must start within it)

    def _logged_text(self) -> str | None:
        text, at = [], 0
        for entry in self.entries:
            if entry.end is None:
                if entry.offset > at:
                    return None  # the log does not hold the beginning
                text.append(entry.text[at - entry.offset:])
                at = max(at, entry.offset + len(entry.text))
        return "".join(text)

    def snapshot(self) -> StoredPair:
        logged = self._logged_text()
        if logged is None or len(logged) < len(self.pair.response):
            return self.pair
        return endings.applied(self.pair, logged, {})

    def pieces(self):
        yield from self._as_pieces(self.entries)
        if any(entry.end for entry in self.entries):
            return
        last_id = self.entries[-1].id if self.entries else "0-0"
        subscription = hub.subscribe(eventlog.key(self.pair.response_id), after=last_id)
        try:
            caught_up = eventlog.read(self.pair.response_id, after=last_id)
            subscription.last_id = caught_up[-1].id if caught_up else last_id
            yield from self._as_pieces(caught_up)
            if any(entry.end for entry in caught_up):
                return
            yield from self._follow(subscription)
        except LogUnavailable:
            yield from self._from_store()
        finally:
            subscription.close()

    def _follow(self, subscription):
        heard = quiet = time.monotonic()
        while True:
            if drain.draining():
                yield events.cut(body_of(drain.leaving_error()))
                return
            entries = subscription.take(timeout=TAKE_EVERY)
            now = time.monotonic()
            if entries:
                heard = quiet = now
                yield from self._as_pieces(entries)
                if any(entry.end for entry in entries):
                    return
                continue
            if now - quiet >= settings.SSE_KEEP_ALIVE_SECONDS:
                quiet = now
                yield None
            if now - heard >= SILENCE:
                # Its writer may have lost Redis (or died without a last
                # event): the store says how far it really is.
                heard = now
                stored = content_repository.read_pair(chat_id=self.chat_id, response_id=self.pair.response_id)
                if stored is None or stored.status != GENERATING or len(stored.response) > self._sent:
                    yield from self._from_store(stored)
                    return

    def _as_pieces(self, entries):
        for entry in entries:
            if entry.end is not None:
                yield entry.end
                return
            if entry.offset > self._sent:
                # A gap (the log lost entries): the store has the text.
                yield from self._from_store()
                return
            self._sent = max(self._sent, entry.offset + len(entry.text))
            yield (entry.offset, entry.text)

    def _from_store(self, stored: StoredPair | None = None):
        if stored is None:
            stored = content_repository.read_pair(chat_id=self.chat_id, response_id=self.pair.response_id)
        if stored is None:
            yield events.end("error", body_of(NotFound("The pair was deleted.")))
            return
        yield from _Store(self.chat_id, stored, self.position).pieces()


def wait_for_end(*, chat_id, pair: StoredPair, timeout: float) -> None:
    """Wait, at most `timeout` seconds, until the generation of `pair` has
    ended (its last event written, or its pair no longer generating)."""
    deadline = time.monotonic() + timeout
    if eventlog.enabled():
        try:
            entries = eventlog.read(pair.response_id)
            if any(entry.end for entry in entries):
                return
            last_id = entries[-1].id if entries else "0-0"
            subscription = hub.subscribe(eventlog.key(pair.response_id), after=last_id)
            try:
                if any(entry.end for entry in eventlog.read(pair.response_id, after=last_id)):
                    return
                while (left := deadline - time.monotonic()) > 0:
                    if any(entry.end for entry in subscription.take(timeout=min(left, 0.25))):
                        return
                    if not claims.get(pair.response_id):
                        return  # released: ended without a log entry reaching us
            finally:
                subscription.close()
            return
        except LogUnavailable:
            pass
    while time.monotonic() < deadline:
        stored = content_repository.read_pair(chat_id=chat_id, response_id=pair.response_id)
        if stored is None or stored.status != GENERATING:
            return
        time.sleep(0.05)
