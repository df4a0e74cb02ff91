"""Runs (`generation.models.Run`): the rows that admit a generation, claim
its branch, count its pair, prove it alive and carry a stop to it.

Every change is a short statement or transaction; no lock is held while a
model runs. Lock order, as everywhere: a run's row, then the chat row, then
the branch row.
"""

import datetime
import enum
import os
import socket
import uuid

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from chats import services as chat_services

from .models import Run

# A run whose heartbeat is older than this belongs to a process that died
# (its process moves it every HEARTBEAT_EVERY seconds, whatever the model does).
DEAD_AFTER = 8.0
# One key for every admission of the deployment (PostgreSQL advisory lock).
ADMISSION_LOCK = 0x67656E72
# Heartbeats go through a connection of their own where the settings give one
# (production: requests share a pool, and a heartbeat must not wait for it).
HEARTBEAT_DATABASE = "heartbeats" if "heartbeats" in settings.DATABASES else "default"


def runner() -> str:
    """This process, as runs name it (read at every call: a fork changes it)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def dead_line() -> datetime.datetime:
    return timezone.now() - datetime.timedelta(seconds=DEAD_AFTER)


def is_dead(heartbeat_at: datetime.datetime) -> bool:
    return heartbeat_at < dead_line()


class Admission(enum.Enum):
    ADMITTED = "admitted"
    BRANCH_BUSY = "branch_busy"  # the branch has a run (alive or dead)
    USER_FULL = "user_full"  # LLM_USER_CONCURRENCY live runs of this user
    FULL = "full"  # LLM_CONCURRENCY live runs in the deployment


_INSERT_IF_ROOM = f"""
INSERT INTO {Run._meta.db_table}
    (response_id, chat_id, branch_id, user_id, uncounted, stop_requested, runner, started_at, heartbeat_at)
SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s
WHERE NOT EXISTS (SELECT 1 FROM {Run._meta.db_table} WHERE branch_id = %s)
  AND (SELECT COUNT(*) FROM {Run._meta.db_table} WHERE user_id = %s AND heartbeat_at >= %s) < %s
  AND (SELECT COUNT(*) FROM {Run._meta.db_table} WHERE heartbeat_at >= %s) < %s
"""


def _db(field: str, value):
    """`value` as the database stores `field` (UUIDs are text on SQLite)."""
    return Run._meta.get_field(field).get_db_prep_value(value, connection)


def try_admit(
    *, user_id, chat_id: uuid.UUID, branch_id: uuid.UUID, response_id: uuid.UUID, uncounted: bool
) -> tuple[Admission, Run | None]:
    """Insert the run if its branch is free and the deployment and the user
    have room, in one statement under one deployment-wide lock (two
    processes admitting at once cannot both take the last place). Returns
    how it went, with the branch's run when the branch is busy."""
    now = timezone.now()
    live_since = _db("heartbeat_at", now - datetime.timedelta(seconds=DEAD_AFTER))
    user = _db("user", user_id)
    run = [
        _db("response_id", response_id),
        _db("chat_id", chat_id),
        _db("branch_id", branch_id),
        user,
        uncounted,
        False,
        runner(),
        _db("started_at", now),
        _db("heartbeat_at", now),
    ]
    limits = [
        _db("branch_id", branch_id),
        user,
        live_since,
        settings.LLM_USER_CONCURRENCY,
        live_since,
        settings.LLM_CONCURRENCY,
    ]
    with transaction.atomic():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADMISSION_LOCK])
            # (SQLite takes its one write lock for the statement.)
            cursor.execute(_INSERT_IF_ROOM, run + limits)
            if cursor.rowcount == 1:
                return Admission.ADMITTED, None
        holder = Run.objects.filter(branch_id=branch_id).first()
        if holder is not None:
            return Admission.BRANCH_BUSY, holder
        mine = Run.objects.filter(user_id=user_id, heartbeat_at__gte=now - datetime.timedelta(seconds=DEAD_AFTER))
        if mine.count() >= settings.LLM_USER_CONCURRENCY:
            return Admission.USER_FULL, None
        return Admission.FULL, None


def count(*, response_id, chat_id, branch_id) -> bool:
    """Count the pair of an add-message run at its first save of the text,
    unless a releaser counted it already. False when its branch was deleted
    meanwhile."""
    with transaction.atomic():
        if not Run.objects.filter(pk=response_id, uncounted=True).update(uncounted=False):
            return True  # counted by whoever released it
        return chat_services.record_own_pairs_added(chat_id=chat_id, branch_id=branch_id, count=1)


def release(response_id, *, only_if_dead: bool = False, stored: bool = True) -> Run | None:
    """End a run, counting its pair if nobody did (so, whoever releases, the
    pair is counted once) and it was `stored` at all. With `only_if_dead`,
    only a run whose heartbeat stopped (two processes ending the same dead
    run: one does). Returns the run released, or None when there was none to
    release."""
    with transaction.atomic():
        runs = Run.objects.select_for_update().filter(pk=response_id)
        if only_if_dead:
            runs = runs.filter(heartbeat_at__lt=dead_line())
        run = runs.first()
        if run is None:
            return None
        Run.objects.filter(pk=response_id).delete()
        if run.uncounted and stored:
            chat_services.record_own_pairs_added(chat_id=run.chat_id, branch_id=run.branch_id, count=1)
    return run


def unclaim(response_id) -> None:
    """Give up a run whose pair could not be stored (nothing to count)."""
    Run.objects.filter(pk=response_id).delete()


def heartbeat(response_ids) -> dict[str, bool]:
    """Prove these runs alive; returns {response id: stop requested} for
    those that still exist (a run missing was ended by someone else)."""
    runs = Run.objects.using(HEARTBEAT_DATABASE).filter(pk__in=response_ids)
    runs.update(heartbeat_at=timezone.now())
    rows = runs.values_list("response_id", "stop_requested")
    return {str(response_id): stop for response_id, stop in rows}


def request_stop(response_id) -> Run | None:
    """Record a stop for the run's process to find (at its next heartbeat,
    when no quicker signal reaches it); the run, or None when there is none."""
    Run.objects.filter(pk=response_id).update(stop_requested=True)
    return Run.objects.filter(pk=response_id).first()


def get(response_id) -> Run | None:
    return Run.objects.filter(pk=response_id).first()


def dead_runs(*, limit: int = 100) -> list[Run]:
    return list(Run.objects.filter(heartbeat_at__lt=dead_line()).order_by("heartbeat_at")[:limit])
