"""Capacity is the deployment's: a new generation takes a place among the
LLM_CONCURRENCY that may run across all processes and hosts, and among its
user's LLM_USER_CONCURRENCY, and claims its branch — one row, inserted only
when all three allow it (`claims.try_admit`).

A full deployment is waited on for LLM_QUEUE_SECONDS (503 `model_busy`
after); a user at their limit is told at once (429 `generation_limit`); a
busy branch is 409 `generation_in_progress`, unless the generation holding it
is dead, which is then ended and its place taken.
"""

import functools
import time

from django.conf import settings

from chatproject.errors import GenerationInProgress, GenerationLimit, ModelBusy

from . import claims, drain, liveness, worker
from .claims import Admission

QUEUE_POLL = 0.05  # seconds between two looks for a place


def admit(*, user_id, chat_id, branch_id, response_id, uncounted: bool) -> None:
    """Admit the generation `response_id` on this branch, or raise why not.
    Once admitted, this process keeps its run alive."""
    drain.refuse_if_draining()
    deadline = time.monotonic() + settings.LLM_QUEUE_SECONDS
    ended = set()
    while True:
        outcome, holder = claims.try_admit(
            user_id=user_id, chat_id=chat_id, branch_id=branch_id, response_id=response_id, uncounted=uncounted
        )
        if outcome is Admission.ADMITTED:
            liveness.vouch(response_id, functools.partial(worker.stop, response_id))
            return
        if outcome is Admission.BRANCH_BUSY:
            if holder.response_id in ended or not claims.is_dead(holder.heartbeat_at):
                raise GenerationInProgress()
            ended.add(holder.response_id)
            liveness.recover(chat_id=holder.chat_id, response_id=holder.response_id)
            continue
        if outcome is Admission.USER_FULL:
            raise GenerationLimit()
        if time.monotonic() >= deadline:
            raise ModelBusy()
        time.sleep(QUEUE_POLL)


def withdraw(response_id, *, stored: bool) -> None:
    """A generation admitted but not launched: this process no longer keeps
    it alive. Unless its pair was stored (its run is then ended as the pair
    is: by `services._abandon`, or by the reaper), its place is given back."""
    liveness.forget(response_id)
    worker.forget(response_id)
    if not stored:
        claims.unclaim(response_id)
