"""Alive is not the same as talking.

Every process that runs generations proves each of them alive every
HEARTBEAT_EVERY seconds, whatever the model does (a long prompt, a slow
first token), by moving its run's `heartbeat_at`; the same statement tells
it which of its runs were asked to stop, or were ended by someone else.
Every serving process also looks, as often, for runs whose heartbeat
stopped: their process died (killed, out of memory, a lost host), and the
first to look ends each of them — its pair stored `interrupted` with its
last saved text, its branch free, its readers told — with no client
touching it, within DEAD_AFTER + HEARTBEAT_EVERY seconds.
"""

import logging
import threading
import time
from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS, connections

from chatproject.cache import bump_chat
from chats import content_repository
from chats.content_repository import GENERATING, StoredPair
from chats.models import Branch
from search import index as search_index

from . import claims, endings, eventlog

logger = logging.getLogger(__name__)

HEARTBEAT_EVERY = 2.0

# response id -> how to stop it, for the runs of this process.
_local: dict[str, Callable[[], None]] = {}
_local_lock = threading.Lock()
_threads: dict[str, threading.Thread] = {}
_threads_lock = threading.Lock()


def vouch(response_id, stop: Callable[[], None]) -> None:
    """This process runs `response_id` from now on: keep it alive."""
    with _local_lock:
        _local[str(response_id)] = stop
    _ensure_thread()


def forget(response_id) -> None:
    with _local_lock:
        _local.pop(str(response_id), None)


def runs_here() -> list[str]:
    with _local_lock:
        return list(_local)


def stop_local(response_id) -> bool:
    """Stop a run of this process at once; False when it does not run here."""
    with _local_lock:
        stop = _local.get(str(response_id))
    if stop is None:
        return False
    stop()
    return True


def serve() -> None:
    """In a serving process: also end the runs of processes that died."""
    _ensure_thread("generation-reaper", _reap_forever)


def _ensure_thread(name: str = "generation-heartbeat", target=None) -> None:
    """Heartbeats and reaping each have a thread: a slow store under the
    reaper must not hold this process's heartbeats back."""
    with _threads_lock:
        thread = _threads.get(name)
        if thread is None or not thread.is_alive():
            thread = threading.Thread(target=target or _beat_forever, name=name, daemon=True)
            _threads[name] = thread
            thread.start()


def _beat_forever() -> None:
    _forever(beat, connections[claims.HEARTBEAT_DATABASE])


def _reap_forever() -> None:
    _forever(reap, connections[DEFAULT_DB_ALIAS])


def _forever(work, database) -> None:
    while True:
        time.sleep(HEARTBEAT_EVERY)
        try:
            database.close_if_unusable_or_obsolete()
            work()
        except Exception:  # noqa: BLE001 - liveness must outlive an outage
            logger.exception("generation %s failed", work.__name__)
        try:
            # Held only while working (the heartbeats' own connection stays).
            connections[DEFAULT_DB_ALIAS].close()
        except Exception:  # noqa: BLE001
            logger.exception("could not give a connection back")


def beat() -> None:
    ids = runs_here()
    if not ids:
        return
    found = claims.heartbeat(ids)
    for response_id in ids:
        if found.get(response_id, True):  # asked to stop, or ended elsewhere
            stop_local(response_id)


def reap() -> int:
    """End every run whose process died; returns how many this process ended."""
    ended = 0
    for run in claims.dead_runs():
        if recover(chat_id=run.chat_id, response_id=run.response_id) is not None:
            ended += 1
    return ended


def release_ended(*, chat_id, response_id) -> None:
    """Free the branch of a generation that ended without releasing its run
    (its process died in between), counting its pair if nobody did."""
    if claims.release(response_id) is not None:
        bump_chat(chat_id)


def recover(*, chat_id, response_id, only_if_dead: bool = True) -> StoredPair | None:
    """End a generation whose process died (or, with `only_if_dead` False,
    cannot be reached): its run released — and its pair counted, if nobody
    did —, its pair stored `interrupted` with the text it had saved, its
    readers sent the end. Returns the pair as stored, or None when it is
    alive after all (or gone)."""
    pair = content_repository.read_pair(chat_id=chat_id, response_id=response_id)
    run = claims.release(response_id, only_if_dead=only_if_dead, stored=pair is not None)
    if run is None and claims.get(response_id) is not None:
        return None  # alive: its heartbeat moved meanwhile
    if run is not None and run.uncounted:
        bump_chat(chat_id)  # its pair was just counted
    if pair is None or pair.status != GENERATING:
        return pair
    fields = endings.interrupted()
    if not content_repository.save_generation(
        chat_id=chat_id, branch_id=pair.branch_id, response_id=pair.response_id, response=pair.response, outcome=fields
    ):
        return content_repository.read_pair(chat_id=chat_id, response_id=response_id)
    final = endings.applied(pair, pair.response, fields)
    search_index.index_pair(chat_id=chat_id, pair=final)
    bump_chat(chat_id)
    fork_position = Branch.objects.filter(pk=pair.branch_id).values_list("fork_position", flat=True).first()
    if fork_position is not None:
        eventlog.write_end(response_id, endings.end_event(final, None, position=fork_position + pair.index))
    logger.warning("generation of %s ended: its process stopped answering", response_id)
    return final
