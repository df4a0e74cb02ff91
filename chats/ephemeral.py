"""Keeping the database honest about the in-process content store.

With `MONGODB_URI` unset (or `mongomock://`) the pairs live in the serving
process and die with it, while users, chats and branches stay in the database.
A chat that had pairs would then come back empty, count branches whose pairs
are gone, and take its next pair at position 0. So when a server starts on the
stand-in, every chat whose content is gone is deleted, through the same service
as the API's delete-chat (cache included), and the start-up log says which.
Accounts stay, and so do chats that never held a pair.
"""

import logging

from django.db import DatabaseError
from django.db.models import Q

from . import content_repository, services
from .models import Chat

logger = logging.getLogger(__name__)
LISTED = 20  # chats named one by one in the log; the rest are counted


def drop_chats_without_content():
    """Delete the chats whose pairs the in-process store no longer has and
    return them as (id, title, owner's username, number of branches). Does
    nothing on a real MongoDB."""
    if not content_repository.is_ephemeral():
        return []
    had_pairs = (
        Chat.objects.filter(Q(branches__message_count__gt=0) | Q(branches__fork_response_id__isnull=False))
        .exclude(pk__in=[str(chat_id) for chat_id in content_repository.content_chat_ids()])
        .distinct()
        .select_related("owner")
        .order_by("created_at", "id")
    )
    dropped = []
    for chat in had_pairs:
        summary = (str(chat.id), chat.title, chat.owner.get_username(), chat.branches.count())
        services.chat_delete(chat=chat)
        dropped.append(summary)
    return dropped


def drop_chats_without_content_at_start():
    """At a server's start: drop, and say plainly what went."""
    try:
        dropped = drop_chats_without_content()
    except DatabaseError as exc:  # not migrated yet: nothing to drop
        logger.warning("Could not look for chats whose content was lost: %s", exc)
        return []
    if dropped:
        lines = [f"  {chat_id}  {title!r} of {owner} ({branches} branches)" for chat_id, title, owner, branches in dropped]
        if len(lines) > LISTED:
            lines[LISTED:] = [f"  … and {len(lines) - LISTED} more"]
        logger.warning(
            "Deleted %d chats (%d branches) whose messages were in the in-process MongoDB stand-in "
            "and did not survive the restart; accounts are kept:\n%s",
            len(dropped),
            sum(branches for *_, branches in dropped),
            "\n".join(lines),
        )
    return dropped
