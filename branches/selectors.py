"""Reads of a chat's branches, scoped to the requesting user."""

from chats.selectors import chat_branches, chat_get

from .representations import branch_representation


def branch_list(*, user, chat_id):
    """get-branches: every branch of the chat, root first, then by creation."""
    chat = chat_get(user=user, chat_id=chat_id)
    return {
        "chat_id": str(chat.id),
        "active_branch_id": str(chat.active_branch_id),
        "branches": [
            branch_representation(b, active_branch_id=chat.active_branch_id) for b in chat_branches(chat=chat)
        ],
    }


def subtree(branches, top):
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
