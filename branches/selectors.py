"""Reads of a chat's branches, scoped to the requesting user."""

import uuid

from accounts.models import User
from chatproject.errors import NotFound
from chats import content_repository
from chats.content_repository import StoredPair
from chats.models import Branch, Chat
from chats.selectors import branch_get, chat_branches, chat_get

from .representations import branch_representation


def branch_list(*, user: User, chat_id: uuid.UUID) -> dict:
    """get-branches: every branch of the chat, root first, then by creation."""
    chat = chat_get(user=user, chat_id=chat_id)
    return {
        "chat_id": str(chat.id),
        "active_branch_id": str(chat.active_branch_id),
        "branches": [
            branch_representation(b, active_branch_id=chat.active_branch_id) for b in chat_branches(chat=chat)
        ],
    }


def branch_written(*, branch: Branch) -> dict:
    """A branch as a write just left it (the chat's active branch may have
    moved with it)."""
    # The chat may be gone already, deleted right after this write.
    active_branch_id = Chat.objects.filter(pk=branch.chat_id).values_list("active_branch_id", flat=True).first()
    return branch_representation(branch, active_branch_id=active_branch_id)


def subtree(*, branches: list[Branch], top: Branch) -> list[Branch]:
    """`top` and every branch below it, parents before children."""
    children = {}
    for b in branches:
        children.setdefault(b.parent_id, []).append(b)
    found, frontier = [], [top]
    while frontier:
        branch = frontier.pop(0)
        found.append(branch)
        frontier.extend(children.get(branch.id, []))
    return found


def regeneration_fork(*, user: User, chat_id: uuid.UUID, response_id: uuid.UUID) -> tuple[Chat, StoredPair, uuid.UUID | None]:
    """Where a pair is answered again: (the chat, the pair, the pair its new
    branch forks after). That is the pair before it on its own branch, or,
    for a branch's first pair, that branch's own fork point (None: before
    the first pair), so the new branch and the old one are alternatives at
    that position ("1 of 2")."""
    chat = chat_get(user=user, chat_id=chat_id)
    pair = content_repository.read_pair(chat_id=chat.id, response_id=response_id)
    if pair is None:
        raise NotFound("No pair with this response_id in this chat.")
    holder = branch_get(chat=chat, branch_id=uuid.UUID(pair.branch_id))
    if pair.index == 0:
        return chat, pair, holder.fork_response_id
    previous = content_repository.read_pairs_before(chat_id=chat.id, branch_id=holder.id, end=pair.index, limit=1)[0]
    return chat, pair, uuid.UUID(previous.response_id)
