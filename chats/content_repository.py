"""The content repository: the only code that talks to MongoDB.

Every other module reads and writes question/response pairs through the
functions here. Every query and update names the `chat_id` (the shard key of a
sharded cluster). Driver errors that mean "MongoDB is unreachable" leave this
module as `ContentStoreUnavailable` (503), whatever the call.

Only operations that real MongoDB and mongomock both implement are used; where
mongomock differs from a server, a comment says so.
"""

import contextlib
import dataclasses
import datetime
import logging
import threading
import typing
import uuid

import bson
import mongoengine
import mongomock
import pymongo
from django.conf import settings
from mongoengine.connection import DEFAULT_CONNECTION_NAME, get_connection, get_db
from pymongo import DESCENDING, ReturnDocument
from pymongo.errors import ConnectionFailure, DuplicateKeyError, PyMongoError

from chatproject.api.errors import ServiceUnavailable

from .documents import ContentBucket

logger = logging.getLogger(__name__)

MOCK_SCHEME = "mongomock://"
# An append retries when a concurrent one closed or created a bucket under it;
# each retry means another append made progress, so this is never reached in
# practice short of thousands of writers on one branch.
MAX_APPEND_ATTEMPTS = 100


class ContentStoreUnavailable(ServiceUnavailable):
    default_detail = "The content store is unavailable. Try again later."


@dataclasses.dataclass(frozen=True)
class StoredPair:
    """A pair as stored: `index` is its place among its branch's own pairs."""

    branch_id: str
    index: int
    response_id: str
    question: str
    response: str
    timestamp: datetime.datetime
    branches: list


# mongomock is not thread-safe; with it in use every call takes this lock.
_mock_lock = threading.RLock()
_state = {"ephemeral": False, "calls": 0, "timeout": None}
_calls_lock = threading.Lock()


def connect(uri=None):
    """Register the connection lazily (`connect=False`): nothing is opened until
    the first query, so forked gunicorn workers each open their own client."""
    uri = uri or settings.MONGODB_URI
    mongoengine.disconnect(alias=DEFAULT_CONNECTION_NAME)
    options = {"uuidRepresentation": "standard", "tz_aware": True, "connect": False}
    if uri.startswith(MOCK_SCHEME):
        # MongoEngine no longer understands mongomock:// itself.
        _state["ephemeral"] = True
        mongoengine.connect(
            host="mongodb://" + uri[len(MOCK_SCHEME):],
            mongo_client_class=mongomock.MongoClient,
            **options,
        )
        # mongomock ignores indexes unless created, and the unique one settles races.
        ContentBucket.ensure_indexes()
        return
    _state["ephemeral"] = False
    if "serverselectiontimeoutms" not in uri.lower():
        options["serverSelectionTimeoutMS"] = settings.MONGODB_SERVER_SELECTION_TIMEOUT_MS
    mongoengine.connect(host=uri, **options)
    # One budget for a whole call, retries included (the driver retries a
    # failed write once, which would otherwise double the wait of an outage).
    _state["timeout"] = get_connection().options.server_selection_timeout


def is_ephemeral():
    """True when content lives in the in-process stand-in and dies with it."""
    return _state["ephemeral"]


def database_name():
    return get_db().name


def calls():
    """How many store calls this process has made: tests assert query budgets
    with it, the benchmark reports it."""
    return _state["calls"]


@contextlib.contextmanager
def _store_call():
    with _calls_lock:
        _state["calls"] += 1
    if _state["ephemeral"]:
        guard = _mock_lock
    else:
        guard = pymongo.timeout(_state["timeout"])
    with guard:
        try:
            yield
        except PyMongoError as exc:
            # Unreachable, or too slow to answer within the budget: a 503.
            # Anything else (a bug of ours, a duplicate key) is not an outage.
            if not (isinstance(exc, ConnectionFailure) or exc.timeout):
                raise
            logger.warning("MongoDB unavailable: %s", exc)
            raise ContentStoreUnavailable() from exc


def _buckets():
    return ContentBucket._get_collection()


def ping():
    """Round trip to the server; raises ContentStoreUnavailable when it is down."""
    with _store_call():
        get_db().command("ping")


def ensure_indexes():
    """Create the collection's indexes (idempotent); returns their names."""
    with _store_call():
        ContentBucket.ensure_indexes()
    return existing_indexes()


def existing_indexes():
    with _store_call():
        return sorted(_buckets().index_information())


def _to_millis(moment):
    # MongoDB keeps milliseconds; cut here so what an append returns is exactly
    # what a later read gives back.
    return moment.astimezone(datetime.UTC).replace(microsecond=moment.microsecond // 1000 * 1000)


def _now():
    return _to_millis(datetime.datetime.now(datetime.UTC))


def append_pair(*, chat_id, branch_id, question, response, timestamp=None):
    """Append a pair to a branch in one atomic MongoDB operation and return it.

    The usual case is one conditional `$push` into the branch's open bucket.
    When the pair does not fit there (by count or by bytes) the bucket is closed
    for good and the next one inserted with the pair in it; the unique index on
    (chat_id, branch_id, seq) settles a race between two inserters, and the loser
    starts over. No document is ever read, changed and written back.
    `timestamp` (default: now) is for imports that keep the original time.
    """
    chat_id, branch_id = str(chat_id), str(branch_id)
    pair = {
        "question": question,
        "response": response,
        "response_id": str(uuid.uuid4()),
        "timestamp": _now() if timestamp is None else _to_millis(timestamp),
        "branches": [],
    }
    # The pair as stored, plus its id once more in `response_ids`.
    size = len(bson.encode(pair)) + len(bson.encode({"0": pair["response_id"]}))
    max_pairs, max_bytes = settings.CONTENT_BUCKET_SIZE, settings.CONTENT_BUCKET_BYTES
    branch = {"chat_id": chat_id, "branch_id": branch_id}
    # Pre-images (BEFORE): mongomock returns nothing for a post-image that no
    # longer matches the filter, as happens when the push fills the bucket.
    meta = {"_id": 0, "seq": 1, "start": 1, "count": 1, "closed": 1}
    for _ in range(MAX_APPEND_ATTEMPTS):
        with _store_call():
            before = _buckets().find_one_and_update(
                {**branch, "closed": False, "count": {"$lt": max_pairs}, "bytes": {"$lte": max_bytes - size}},
                {
                    "$push": {"qa_pairs": pair, "response_ids": pair["response_id"]},
                    "$inc": {"count": 1, "end": 1, "bytes": size},
                },
                projection=meta,
                return_document=ReturnDocument.BEFORE,
            )
        if before is not None:
            return _stored(branch_id, before["start"] + before["count"], pair)
        with _store_call():
            full = _buckets().find_one_and_update(
                {**branch, "closed": False, "$or": [{"count": {"$gte": max_pairs}}, {"bytes": {"$gt": max_bytes - size}}]},
                {"$set": {"closed": True}},
                projection=meta,
                return_document=ReturnDocument.BEFORE,
            )
        if full is None:
            with _store_call():
                full = _buckets().find_one(branch, projection=meta, sort=[("seq", DESCENDING)])
            if full is not None and not full["closed"]:
                continue  # a bucket opened meanwhile: push into it
        seq, start = (full["seq"] + 1, full["start"] + full["count"]) if full else (0, 0)
        try:
            with _store_call():
                _buckets().insert_one(
                    {
                        **branch,
                        "seq": seq,
                        "start": start,
                        "count": 1,
                        "end": start + 1,
                        "bytes": size,
                        "closed": False,
                        "qa_pairs": [pair],
                        "response_ids": [pair["response_id"]],
                    }
                )
        except DuplicateKeyError:
            continue
        return _stored(branch_id, start, pair)
    raise ContentStoreUnavailable("Too many concurrent writes to this branch. Try again.")


def _stored(branch_id, index, pair):
    return StoredPair(
        branch_id=branch_id,
        index=index,
        response_id=pair["response_id"],
        question=pair["question"],
        response=pair["response"],
        timestamp=pair["timestamp"],
        branches=list(pair["branches"]),
    )


def read_pairs_before(*, chat_id, branch_id, end=None, limit):
    """The last `limit` of a branch's own pairs with index < `end` (all of them
    when `end` is None), oldest first.

    Asks only for the buckets that overlap the page (by their `start`/`end`),
    so the cost follows the page, not the branch's length: one call, or two for
    a latest page that reaches past the newest bucket.
    """
    branch = {"chat_id": str(chat_id), "branch_id": str(branch_id)}
    projection = {"_id": 0, "start": 1, "end": 1, "qa_pairs": 1}
    if limit <= 0 or (end is not None and end <= 0):
        return []
    collected = []
    upper = end
    if end is None:
        with _store_call():
            # The open bucket is the newest; when none is open (a crash between
            # closing one and inserting the next), the highest seq is.
            newest = _buckets().find_one({**branch, "closed": False}, projection) or _buckets().find_one(
                branch, projection, sort=[("seq", DESCENDING)]
            )
        if newest is None:
            return []
        end = newest["end"]
        _take(collected, newest, branch_id, end - limit, end)
        if newest["start"] <= max(end - limit, 0):
            return collected[::-1]
        upper = newest["start"]
    low = end - limit
    with _store_call():
        cursor = _buckets().find(
            {**branch, "start": {"$lt": upper}, "end": {"$gt": max(low, 0)}}, projection
        ).sort("seq", DESCENDING)
        for bucket in cursor:
            _take(collected, bucket, branch_id, low, upper)
    return collected[::-1]


def _take(collected, bucket, branch_id, low, high):
    """Append, newest first, the bucket's pairs with index in [low, high)."""
    pairs = bucket["qa_pairs"]
    for offset in range(len(pairs) - 1, -1, -1):
        index = bucket["start"] + offset
        if index < low:
            break
        if index < high:
            collected.append(_stored(str(branch_id), index, pairs[offset]))


def read_all_pairs(*, chat_id, branch_id):
    """Every pair a branch holds itself, oldest first (exports, maintenance)."""
    with _store_call():
        cursor = _buckets().find(
            {"chat_id": str(chat_id), "branch_id": str(branch_id)},
            projection={"_id": 0, "start": 1, "qa_pairs": 1},
        ).sort("seq", 1)
        return [
            _stored(str(branch_id), bucket["start"] + offset, pair)
            for bucket in cursor
            for offset, pair in enumerate(bucket["qa_pairs"])
        ]


class PairLocation(typing.NamedTuple):
    branch_id: str
    index: int  # among the branch's own pairs
    seq: int  # of the bucket holding it


def locate_pair(*, chat_id, response_id):
    """Where the pair with this response_id is in the chat, or None."""
    response_id = str(response_id)
    with _store_call():
        bucket = _buckets().find_one(
            {"chat_id": str(chat_id), "response_ids": response_id},
            projection={"_id": 0, "branch_id": 1, "seq": 1, "start": 1, "response_ids": 1},
        )
    if bucket is None:
        return None
    return PairLocation(bucket["branch_id"], bucket["start"] + bucket["response_ids"].index(response_id), bucket["seq"])


def branch_length(*, chat_id, branch_id):
    """How many pairs a branch holds itself, read from its newest bucket."""
    with _store_call():
        last = _buckets().find_one(
            {"chat_id": str(chat_id), "branch_id": str(branch_id)},
            projection={"_id": 0, "start": 1, "count": 1},
            sort=[("seq", DESCENDING)],
        )
    return 0 if last is None else last["start"] + last["count"]


def _fork_pair(chat_id, holder_branch_id, response_id, seq=None):
    # $elemMatch with the positional `$`: mongomock cannot resolve `$` from a
    # dotted filter ("qa_pairs.response_id"), and arrayFilters it lacks entirely.
    # With the bucket's seq known, the filter names one document by the unique
    # index instead of testing every bucket of the branch.
    query = {"chat_id": str(chat_id), "branch_id": str(holder_branch_id)}
    if seq is not None:
        query["seq"] = seq
    # Last, so that mongomock, which tests conditions in order, tries the
    # costly one on the single bucket the others leave.
    query["qa_pairs"] = {"$elemMatch": {"response_id": str(response_id)}}
    return query


def add_fork(*, chat_id, holder_branch_id, response_id, branch_id, seq=None):
    """Name `branch_id` in the `branches` list of the pair it forks after
    (in bucket `seq`, when known). Returns False when that pair is not there."""
    with _store_call():
        result = _buckets().update_one(
            _fork_pair(chat_id, holder_branch_id, response_id, seq),
            {"$addToSet": {"qa_pairs.$.branches": str(branch_id)}},
        )
    return result.matched_count == 1


def remove_fork(*, chat_id, holder_branch_id, response_id, branch_id):
    """Stop naming `branch_id` at the pair it forked after."""
    with _store_call():
        result = _buckets().update_one(
            _fork_pair(chat_id, holder_branch_id, response_id),
            {"$pull": {"qa_pairs.$.branches": str(branch_id)}},
        )
    return result.modified_count == 1


def delete_branch_content(*, chat_id, branch_ids):
    """Remove every bucket of these branches of a chat; returns how many went."""
    with _store_call():
        return _buckets().delete_many(
            {"chat_id": str(chat_id), "branch_id": {"$in": [str(b) for b in branch_ids]}}
        ).deleted_count


def content_chat_ids():
    """Every chat id that has content (maintenance: finding orphans)."""
    with _store_call():
        return set(_buckets().distinct("chat_id"))


def bucket_outlines(*, chat_id):
    """Every bucket of a chat without the texts: ids, fork lists and counters,
    for consistency checks."""
    with _store_call():
        return list(
            _buckets()
            .find(
                {"chat_id": str(chat_id)},
                projection={
                    "_id": 0,
                    "branch_id": 1,
                    "seq": 1,
                    "start": 1,
                    "count": 1,
                    "end": 1,
                    "closed": 1,
                    "response_ids": 1,
                    "qa_pairs.response_id": 1,
                    "qa_pairs.timestamp": 1,
                    "qa_pairs.branches": 1,
                },
            )
            .sort([("branch_id", 1), ("seq", 1)])
        )


def renumber_buckets(*, chat_id, branch_id):
    """Make a branch's bucket counters agree with what the buckets hold: seq
    0, 1, 2 … in their order, `start` the running total of pairs, `count` the
    pairs held, `response_ids` their ids, every bucket but the last closed.
    The pairs themselves are not touched."""
    outlines = [b for b in bucket_outlines(chat_id=chat_id) if b["branch_id"] == str(branch_id)]
    start = 0
    for seq, bucket in enumerate(outlines):
        held = len(bucket["qa_pairs"])
        with _store_call():
            _buckets().update_one(
                {"chat_id": str(chat_id), "branch_id": str(branch_id), "seq": bucket["seq"]},
                {
                    "$set": {
                        "seq": seq,
                        "start": start,
                        "count": held,
                        "end": start + held,
                        "closed": seq < len(outlines) - 1,
                        "response_ids": [p["response_id"] for p in bucket["qa_pairs"]],
                    }
                },
            )
        start += held
    return start


def delete_chat_content(*, chat_id):
    """Remove every bucket of a chat; returns how many went."""
    with _store_call():
        return _buckets().delete_many({"chat_id": str(chat_id)}).deleted_count


def drop_all_content():
    """Empty the content database: for test set-up only, hence the guard."""
    with _store_call():
        db = get_db()
        if "test" not in db.name:
            raise RuntimeError(f"refusing to drop content of non-test database {db.name!r}")
        for name in db.list_collection_names():
            db.drop_collection(name)
        ContentBucket.ensure_indexes()
