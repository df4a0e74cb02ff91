"""MongoDB documents of message content (collection `chat_content`).

A branch's own pairs are kept in buckets (`seq` 0, 1, 2 …). `start` is the
branch-local index of a bucket's first pair, fixed when the bucket is created,
so a pair's place in its branch is `start + its index in qa_pairs`. A bucket is
closed for good once a pair does not fit (by count or by bytes); only the one
open bucket of a branch takes appends, which keeps pairs in append order.

Ids are stored as canonical UUID strings: mongomock cannot encode native UUIDs.
"""

import mongoengine as me


class QAPair(me.EmbeddedDocument):
    question = me.StringField(required=True)
    response = me.StringField(required=True)
    response_id = me.UUIDField(binary=False, required=True)
    timestamp = me.DateTimeField(required=True)
    # Branches that fork right after this pair.
    branches = me.ListField(me.UUIDField(binary=False))


class ContentBucket(me.Document):
    chat_id = me.UUIDField(binary=False, required=True)
    branch_id = me.UUIDField(binary=False, required=True)
    seq = me.IntField(required=True, min_value=0)
    start = me.IntField(required=True, min_value=0)
    count = me.IntField(required=True, min_value=0)
    # start + count, kept by the same atomic updates: lets a page ask for
    # exactly the buckets that overlap it.
    end = me.IntField(required=True, min_value=0)
    # BSON size of the pairs held, against CONTENT_BUCKET_BYTES.
    bytes = me.IntField(required=True, min_value=0)
    closed = me.BooleanField(default=False)
    qa_pairs = me.EmbeddedDocumentListField(QAPair)
    # The pairs' response_ids again, in order, pushed by the same atomic update:
    # a flat list is what finding a pair by its id (forks, `before`) indexes
    # and scans cheaply.
    response_ids = me.ListField(me.UUIDField(binary=False))

    meta = {
        "collection": "chat_content",
        "indexes": [
            # The (branch_id, seq) uniqueness that settles append races, led by
            # chat_id so that it stays valid on a cluster sharded by chat_id; it
            # also serves every query by chat_id.
            {"fields": ["chat_id", "branch_id", "seq"], "unique": True, "name": "chat_branch_seq_unique"},
            {"fields": ["chat_id"], "name": "chat_id"},
            # Finding a pair by its response_id (forks, `before`).
            {"fields": ["chat_id", "response_ids"], "name": "chat_response_id"},
        ],
        "auto_create_index": False,
    }
