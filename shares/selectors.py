"""Reads of shares: the owner's list, and the public read of a link, which
answers the same 404 for every link that does not work (unknown, deleted,
expired, disabled, or its chat or branch deleted or hidden)."""

import uuid

from django.db.models import QuerySet

from accounts.models import User
from chatproject.api.formats import iso_datetime
from chatproject.cache import shared_page_messages
from chatproject.errors import NotFound
from chats.content_repository import GENERATING
from chats.selectors import chat_branches, chat_get, path_pairs

from .models import Share

GONE = "This shared conversation does not exist, or no longer does."


def share_list(*, user: User, chat_id: uuid.UUID | None = None) -> QuerySet[Share]:
    """The user's shares (ordered by the pagination: newest first)."""
    shares = Share.objects.filter(owner=user)
    if chat_id is not None:
        chat_get(user=user, chat_id=chat_id)  # 404 for a chat that is not the caller's
        shares = shares.filter(chat_id=chat_id)
    return shares


def live_share(*, token: str) -> tuple[Share, list]:
    """The share of this token with its chat's branches, if its link works."""
    share = _live(token)
    return share, chat_branches(chat=share.chat)


def _live(token):
    share = Share.objects.live().select_related("chat", "branch").filter(token=token, chat__hidden=False).first()
    if share is None:
        raise NotFound(GONE)
    return share


def shared_page(*, token: str, offset: int, limit: int) -> dict:
    """get-shared: a page of the shared pairs, oldest first. Only what a
    reader needs: no id, no owner, no other branch, nothing after the pair.
    The share is looked up on every read; its pages, which never change, come
    from the cache once read."""
    share = _live(token)
    end = min(offset + limit, share.pair_count)

    def messages():
        """The page, and whether it is final: a pair before the shared one
        may still be generating (an answer the client sent went after it)."""
        if offset >= end:
            return [], True
        branches = chat_branches(chat=share.chat)
        pairs = path_pairs(chat_id=share.chat_id, branches=branches, branch=share.branch, start=offset, end=end)
        page = [
            {
                "position": position,
                "question": pair.question,
                "response": pair.response,
                "timestamp": iso_datetime(pair.timestamp),
                "model": pair.model,
            }
            for position, pair in pairs
        ]
        return page, all(pair.status != GENERATING for _, pair in pairs)

    return {
        "title": share.title,
        "shared_at": iso_datetime(share.created_at),
        "pair_count": share.pair_count,
        "offset": offset,
        "messages": shared_page_messages(share_id=share.id, offset=offset, limit=limit, compute=messages),
        "has_more": end < share.pair_count,
    }


def share_representation(share: Share, *, url: str) -> dict:
    return {
        "share_id": str(share.id),
        "token": share.token,
        "url": url,
        "chat_id": str(share.chat_id),
        "branch_id": str(share.branch_id),
        "response_id": str(share.response_id),
        "pair_count": share.pair_count,
        "created_at": iso_datetime(share.created_at),
        "expires_at": iso_datetime(share.expires_at) if share.expires_at else None,
    }
