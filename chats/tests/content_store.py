"""The test suite's one way to the content store's raw documents: for
setting up damage and for checking what was stored, where the repository's
own functions would hide it."""

from chats.content_repository import connection
from chats.content_repository.documents import ContentBucket


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
