"""The test suite's one way to the stores' raw state: the content store's
documents (for setting up damage and checking what was stored, where the
repository's own functions would hide it) and a snapshot of everything the
API can change, for tests that show a request changed nothing."""

import json

from django.contrib.auth import get_user_model
from rest_framework_simplejwt.token_blacklist.models import (
    BlacklistedToken,
    OutstandingToken,
)

from chats import content_repository
from chats.content_repository import connection
from chats.content_repository.documents import ContentBucket
from chats.models import Branch, Chat


def raw_buckets():
    """The `chat_content` collection itself (a pymongo/mongomock collection)."""
    return connection.collection()


def drop_all_content():
    """Empty the content database, which must be a test one."""
    with connection.store_call():
        name = connection.database_name()
        if "test" not in name:
            raise RuntimeError(f"refusing to drop content of non-test database {name!r}")
        raw_buckets().database.client.drop_database(name)
        ContentBucket.ensure_indexes()


def stores_snapshot(*, content=True):
    """Users, tokens, chats, branches and (unless `content` is False, as while
    MongoDB is down) every content document, in a comparable form."""
    return (
        list(get_user_model().objects.values_list("username", "password", "is_active").order_by("username")),
        BlacklistedToken.objects.count(),
        OutstandingToken.objects.count(),
        list(Chat.objects.values().order_by("id")),
        list(Branch.objects.values().order_by("id")),
        sorted(json.dumps(d, default=str, sort_keys=True) for d in raw_buckets().find({}, {"_id": 0}))
        if content
        else None,
    )


def lose_chat_after_append(monkeypatch, chat):
    """Make a concurrent delete-chat commit right after the next pair is
    written to MongoDB, before that pair is counted."""
    from chats import content_repository

    real_append = content_repository.append_pair

    def append_then_lose_the_chat(**kwargs):
        stored = real_append(**kwargs)
        Chat.objects.filter(pk=chat.pk).delete()
        return stored

    monkeypatch.setattr(content_repository, "append_pair", append_then_lose_the_chat)
