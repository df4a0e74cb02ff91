"""Reads of a chat's branches, scoped to the requesting user."""

import uuid

from accounts.models import User
from chats.models import Branch, Chat
from chats.selectors import chat_branches, chat_get

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
