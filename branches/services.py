"""Writes to a chat's branch tree: the one path shared by the API, the admin
and the commands.

MongoDB is written first, so that its failure leaves PostgreSQL unchanged
(503); what a failure between the two stores leaves behind is undone on the
spot when possible, and otherwise found and repaired by reconcile_content.
"""

import logging
import uuid

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from chatproject.cache import bump_chat
from search import index as search_index
from chatproject.errors import (
    BranchHasChildren,
    ContentStoreUnavailable,
    NotFound,
    RootBranchUndeletable,
)
from chats import content_repository
from chats.content_repository import StoredPair
from chats.models import Branch, Chat
from chats.selectors import branch_get, chat_branches, chat_get, chat_summary_get
from chats.services import ensure_writable

from .selectors import subtree

logger = logging.getLogger(__name__)


def default_branch_name(chat: Chat) -> str:
    """"branch N", N the number of branches besides the root, or the next N
    that no branch of the chat carries (after deletions). Called under the
    chat's row lock."""
    names = list(chat.branches.values_list("name", flat=True))
    number = len(names)  # the root, then branch 1, 2 …: the next one's number
    while f"branch {number}" in names:
        number += 1
    return f"branch {number}"


def branch_create(
    *,
    user: User,
    chat_id: uuid.UUID,
    response_id: uuid.UUID | None,
    name: str | None = None,
    question: str | None = None,
    response: str | None = None,
    activate: bool = True,
    generation: dict | None = None,
    branch_id: uuid.UUID | None = None,
) -> tuple[Branch, StoredPair | None]:
    """Fork a branch right after the pair `response_id` (None: before the first
    pair) and, optionally, give it its first pair.

    The new branch stores only its own pairs: the history up to the fork is
    referenced through its parent, the branch that physically holds the fork
    pair, and `fork_position`, the number of pairs it inherits. The cost is the
    same whatever the length of that history. With `generation` (as
    `content_repository.append_pair` takes it), the first pair is stored
    `generating`; `branch_id` is for a caller that had to name the branch
    first (a generation is admitted before anything is stored). Returns the
    branch and its first pair (or None).

    Creating and deleting branches of one chat take the chat's row lock, so a
    branch never forks from one being deleted; appends write MongoDB without it.
    """
    with transaction.atomic():
        chat = chat_get(user=user, chat_id=chat_id, for_update=True)
        ensure_writable(chat)
        parent, fork_position, fork_seq = _fork_point(chat, response_id)
        branch_id = branch_id or uuid.uuid4()
        written = {"pair": False, "fork": False}  # what an undo has to take back
        first = None
        try:
            if question is not None:
                first = content_repository.append_pair(
                    chat_id=chat.id, branch_id=branch_id, question=question, response=response or "", **(generation or {})
                )
                written["pair"] = True
            if response_id is not None:
                if not content_repository.add_fork(
                    chat_id=chat.id,
                    holder_branch_id=parent.id,
                    response_id=response_id,
                    branch_id=branch_id,
                    seq=fork_seq,
                ):
                    raise NotFound("No pair with this response_id in this chat.")
                written["fork"] = True
            branch = Branch.objects.create(
                id=branch_id,
                chat=chat,
                parent=parent,
                fork_response_id=response_id,
                fork_position=fork_position,
                name=name or default_branch_name(chat),
                message_count=0 if question is None else 1,
            )
            if first is not None:
                search_index.index_pair(chat_id=chat.id, pair=first, owner_id=chat.owner_id)
            _touch(chat, active_branch_id=branch_id if activate else None)
            if activate:
                chat.active_branch_id = branch_id  # what the answer says, as this write left it
        except Exception:
            _undo_branch_content(chat.id, parent.id, response_id, branch_id, **written)
            raise
    bump_chat(chat.id)
    return branch, first


def _fork_point(chat: Chat, response_id: uuid.UUID | None) -> tuple[Branch, int, int | None]:
    """(parent, fork_position, seq of the fork pair's bucket) of a branch
    forking after `response_id`."""
    if response_id is None:
        return Branch.objects.get(chat=chat, parent__isnull=True), 0, None
    found = content_repository.locate_pair(chat_id=chat.id, response_id=response_id)
    parent = Branch.objects.filter(chat=chat, pk=found.branch_id).first() if found else None
    if parent is None:
        raise NotFound("No pair with this response_id in this chat.")
    return parent, parent.fork_position + found.index + 1, found.seq


def _undo_branch_content(chat_id, parent_id, response_id, branch_id, *, pair, fork):
    try:
        if fork:
            content_repository.remove_fork(
                chat_id=chat_id, holder_branch_id=parent_id, response_id=response_id, branch_id=branch_id
            )
        if pair:
            content_repository.delete_branch_content(chat_id=chat_id, branch_ids=[branch_id])
    except ContentStoreUnavailable:
        logger.error("Content of branch %s of chat %s left behind; reconcile_content will remove it.", branch_id, chat_id)


def _touch(chat, *, active_branch_id=None):
    changes = {"updated_at": timezone.now()}
    if active_branch_id is not None:
        changes["active_branch_id"] = active_branch_id
    Chat.objects.filter(pk=chat.pk).update(**changes)


def branch_activate(*, user: User, chat_id: uuid.UUID, branch_id: uuid.UUID) -> Chat:
    """Make a branch the chat's active one (again: setting it twice is fine).
    Returns the chat with its summary."""
    with transaction.atomic():
        chat = chat_get(user=user, chat_id=chat_id, for_update=True)
        ensure_writable(chat)
        branch = branch_get(chat=chat, branch_id=branch_id)
        _touch(chat, active_branch_id=branch.id)
        summary = chat_summary_get(chat_id=chat.pk)
    bump_chat(chat.id)
    return summary


def branch_rename(*, user: User, chat_id: uuid.UUID, branch_id: uuid.UUID, name: str) -> Branch:
    with transaction.atomic():
        chat = chat_get(user=user, chat_id=chat_id, for_update=True)
        ensure_writable(chat)
        branch = branch_get(chat=chat, branch_id=branch_id)
        branch.name = name
        branch.full_clean(exclude=["chat", "parent"])
        branch.save(update_fields=["name"])
        _touch(chat)
    bump_chat(chat.id)
    return branch


def branch_delete(
    *, user: User, chat_id: uuid.UUID, branch_id: uuid.UUID, cascade: bool = False
) -> list[uuid.UUID]:
    """Delete a branch (with `cascade`, its whole subtree) and its content.

    The root cannot go; a branch with children needs `cascade`. When the active
    branch goes, the deleted branch's parent becomes active. Content goes first,
    inside the transaction: if MongoDB fails, PostgreSQL is unchanged (503) and
    deleting again finishes the job. Returns the ids of the deleted branches.
    """
    with transaction.atomic():
        chat = chat_get(user=user, chat_id=chat_id, for_update=True)
        ensure_writable(chat)
        branch = branch_get(chat=chat, branch_id=branch_id)
        if branch.is_root:
            raise RootBranchUndeletable()
        doomed_ids = [b.id for b in subtree(branches=chat_branches(chat=chat), top=branch)]
        if len(doomed_ids) > 1 and not cascade:
            raise BranchHasChildren()
        _remove_subtree(chat, branch, doomed_ids)
    bump_chat(chat.id)
    return doomed_ids


def branch_prune(*, branch: Branch) -> list[uuid.UUID]:
    """Remove a branch and its subtree whatever the chat's state (operators:
    reconcile_content, for branches whose fork pair is gone). Returns the ids."""
    with transaction.atomic():
        chat = Chat.objects.select_for_update().get(pk=branch.chat_id)
        doomed_ids = [b.id for b in subtree(branches=chat_branches(chat=chat), top=branch)]
        _remove_subtree(chat, branch, doomed_ids)
    bump_chat(chat.id)
    return doomed_ids


def _remove_subtree(chat: Chat, branch: Branch, doomed_ids: list[uuid.UUID]) -> None:
    """Content first, then the rows; the active branch, if among them, passes
    to the top branch's parent. Run inside a transaction holding the chat."""
    # Unlisting at the fork first: if MongoDB fails after it, the branch is
    # still whole (reconcile relists it); deleted content cannot come back.
    if branch.fork_response_id is not None:
        content_repository.remove_fork(
            chat_id=chat.id,
            holder_branch_id=branch.parent_id,
            response_id=branch.fork_response_id,
            branch_id=branch.id,
        )
    content_repository.delete_branch_content(chat_id=chat.id, branch_ids=doomed_ids)
    active_goes = chat.active_branch_id in doomed_ids
    _touch(chat, active_branch_id=branch.parent_id if active_goes else None)
    Branch.objects.filter(chat=chat, pk__in=doomed_ids).delete()


# Repairs (reconcile_content): each brings one part of the stores back in step
# and, like every write, invalidates the chat's cached reads.


def branch_content_discard(*, chat_id: uuid.UUID, branch_id: uuid.UUID) -> None:
    """Remove the content of a branch that does not exist (any more)."""
    content_repository.delete_branch_content(chat_id=chat_id, branch_ids=[branch_id])
    bump_chat(chat_id)


def branch_buckets_renumber(*, chat_id: uuid.UUID, branch_id: uuid.UUID) -> None:
    """Make a branch's bucket counters agree with the pairs they hold."""
    content_repository.renumber_buckets(chat_id=chat_id, branch_id=branch_id)
    bump_chat(chat_id)


def branch_count_set(*, branch: Branch, count: int) -> None:
    """Set a branch's count of its own pairs to what its content holds."""
    Branch.objects.filter(pk=branch.pk).update(message_count=count)
    bump_chat(branch.chat_id)


def fork_entry_add(
    *, chat_id: uuid.UUID, holder_branch_id: uuid.UUID, response_id: uuid.UUID, branch_id: uuid.UUID
) -> None:
    """List `branch_id` again at the pair it forks after."""
    content_repository.add_fork(
        chat_id=chat_id, holder_branch_id=holder_branch_id, response_id=response_id, branch_id=branch_id
    )
    bump_chat(chat_id)


def fork_entry_remove(
    *, chat_id: uuid.UUID, holder_branch_id: uuid.UUID, response_id: uuid.UUID, branch_id: uuid.UUID
) -> None:
    """Stop listing `branch_id` at a pair it does not fork after."""
    content_repository.remove_fork(
        chat_id=chat_id, holder_branch_id=holder_branch_id, response_id=response_id, branch_id=branch_id
    )
    bump_chat(chat_id)
