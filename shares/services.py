"""Writes of shares: create, delete, disable (moderators), and fork (a new
chat of the caller's holding a share's pairs)."""

import datetime
import secrets
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from chatproject.errors import NotFound, NothingToShare, PairNotFinished, ShareLimit
from chats.content_repository import COMPLETE, GENERATING, INTERRUPTED
from chats.models import Chat
from chats.selectors import chat_branches, chat_get, path_pairs, path_position
from transfer.plan import ChatPlan, PlannedBranch, PlannedPair
from transfer.services import chat_import

from . import selectors
from .models import Share

FINISHED = (COMPLETE, INTERRUPTED)
# How far back create-share looks at a time for the last finished pair.
LOOK_BACK = 50


def new_token() -> str:
    return secrets.token_urlsafe(32)


def share_create(
    *,
    user: User,
    chat_id: uuid.UUID,
    branch_id: uuid.UUID | None = None,
    response_id: uuid.UUID | None = None,
    expires_in_days: int | None = None,
) -> Share:
    """Share a branch's path up to a finished pair (by default its last).
    Nothing is copied: the share names the branch and the pair count."""
    with transaction.atomic():
        # The owner's row, locked: two creates at once cannot both pass the limit.
        User.objects.select_for_update().filter(pk=user.pk).first()
        chat = chat_get(user=user, chat_id=chat_id)
        branches = chat_branches(chat=chat)
        wanted = branch_id or chat.active_branch_id
        branch = next((b for b in branches if b.id == wanted), None)
        if branch is None:
            raise NotFound("Branch not found in this chat.")
        if response_id is not None:
            located = path_position(chat_id=chat.id, branches=branches, branch=branch, response_id=response_id)
            if located is None:
                raise NotFound("No pair with this response_id on this branch's path.")
            last, position = located
            if last.status not in FINISHED:
                raise PairNotFinished()
        else:
            last, position = _last_finished(chat, branches, branch)
        if Share.objects.live().filter(owner=user).count() >= settings.SHARES_PER_USER:
            raise ShareLimit()
        return Share.objects.create(
            token=new_token(),
            owner=user,
            chat=chat,
            branch=branch,
            response_id=last.response_id,
            pair_count=position + 1,
            title=chat.title,
            expires_at=timezone.now() + datetime.timedelta(days=expires_in_days) if expires_in_days else None,
        )


def _last_finished(chat, branches, branch):
    # Counted pairs, plus one generated pair not counted yet, if any.
    end = branch.fork_position + branch.message_count + 1
    while end > 0:
        start = max(0, end - LOOK_BACK)
        for position, pair in reversed(path_pairs(chat_id=chat.id, branches=branches, branch=branch, start=start, end=end)):
            if pair.status in FINISHED:
                return pair, position
        end = start
    raise NothingToShare()


def share_delete(*, user: User, share_id: uuid.UUID) -> None:
    """The link is dead as the row goes: every read looks it up."""
    deleted, _ = Share.objects.filter(owner=user, pk=share_id).delete()
    if not deleted:
        raise NotFound("Share not found.")


def share_set_disabled(*, share: Share, disabled: bool) -> None:
    """Moderators: a disabled share's link answers 404 until enabled again."""
    Share.objects.filter(pk=share.pk).update(disabled=disabled)


def shared_fork(*, user: User, token: str) -> Chat:
    """A new chat of the caller's holding copies of the shared pairs (new
    ids) on its root, titled as the share. Reads the path a branch at a
    time and writes it as an import does: one store call per branch read,
    one to write, whatever the number of pairs."""
    share, branches = selectors.live_share(token=token)
    pairs = path_pairs(chat_id=share.chat_id, branches=branches, branch=share.branch, start=0, end=share.pair_count)
    now = timezone.now()
    plan = ChatPlan(
        title=share.title,
        created_at=now,
        updated_at=now,
        branches=[
            PlannedBranch(
                name="main",
                created_at=now,
                pairs=[
                    PlannedPair(
                        question=pair.question,
                        response=pair.response,
                        timestamp=pair.timestamp,
                        generation=_generation_fields(pair),
                    )
                    for _, pair in pairs
                ],
            )
        ],
    )
    return chat_import(owner=user, plan=plan)


def _generation_fields(pair):
    if pair.model is None and pair.status == COMPLETE:
        return None
    if pair.status == GENERATING:
        # Still being answered in the shared chat: the copy keeps the text so
        # far, ended (nothing would ever end it in the new chat).
        return {"status": INTERRUPTED, "model": pair.model, "finish_reason": "interrupted"}
    return {"status": pair.status, "model": pair.model, "finish_reason": pair.finish_reason, "usage": pair.usage}
