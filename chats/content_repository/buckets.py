"""The hot path: appending pairs and reading them back, finding a pair by
its id, fork lists, deletions.

Every query and update names the `chat_id` (the shard key of a sharded
cluster). Only operations that real MongoDB and mongomock both implement are
used; where mongomock differs from a server, a comment says so.
"""

import dataclasses
import datetime
import typing
import uuid

import bson
from django.conf import settings
from pymongo import DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from chatproject.errors import ContentStoreUnavailable

from . import connection
from .connection import store_call

# An append retries when a concurrent one closed or created a bucket under it;
# each retry means another append made progress, so this is never reached in
# practice short of thousands of writers on one branch.
MAX_APPEND_ATTEMPTS = 100

# Ids are taken as UUIDs or their strings, and stored as canonical strings.
Id = uuid.UUID | str


# A pair's status. A pair the client answered itself is complete from the
# start; a generated one is `generating` until its generation ends.
COMPLETE, GENERATING, INTERRUPTED, FAILED = "complete", "generating", "interrupted", "failed"
PAIR_STATUSES = (COMPLETE, GENERATING, INTERRUPTED, FAILED)


@dataclasses.dataclass(frozen=True)
class StoredPair:
    """A pair as stored: `index` is its place among its branch's own pairs.

    The generation fields are stored only on generated pairs; a pair without
    them reads as complete, with no model. `saved_at` is when a generation
    last saved the pair; `error_code` and `error_detail` the error that
    ended it, if one did (the detail as the model server put it).
    """

    branch_id: str
    index: int
    response_id: str
    question: str
    response: str
    timestamp: datetime.datetime
    branches: list
    status: str = COMPLETE
    model: str | None = None
    finish_reason: str | None = None
    usage: dict | None = None
    saved_at: datetime.datetime | None = None
    error_code: str | None = None
    error_detail: str | None = None


def _to_millis(moment):
    # MongoDB keeps milliseconds; cut here so what an append returns is exactly
    # what a later read gives back.
    return moment.astimezone(datetime.UTC).replace(microsecond=moment.microsecond // 1000 * 1000)


def _now():
    return _to_millis(datetime.datetime.now(datetime.UTC))


def append_pair(
    *,
    chat_id: Id,
    branch_id: Id,
    question: str,
    response: str,
    timestamp: datetime.datetime | None = None,
    response_id: Id | None = None,
    generation: dict | None = None,
    reserve_bytes: int = 0,
) -> StoredPair:
    """Append a pair to a branch in one atomic MongoDB operation and return it.

    The usual case is one conditional `$push` into the branch's open bucket.
    When the pair does not fit there (by count or by bytes) the bucket is closed
    for good and the next one inserted with the pair in it; the unique index on
    (chat_id, branch_id, seq) settles a race between two inserters, and the loser
    starts over. No document is ever read, changed and written back.
    `timestamp` (default: now) is for imports that keep the original time.

    A generated pair carries `generation` (its `status`, `model` … as
    `StoredPair` names them) and is counted in its bucket with `reserve_bytes`
    more, the room its response will take as it is generated.
    """
    chat_id, branch_id = str(chat_id), str(branch_id)
    pair = {
        "question": question,
        "response": response,
        "response_id": str(response_id or uuid.uuid4()),
        "timestamp": _now() if timestamp is None else _to_millis(timestamp),
        "branches": [],
    }
    if generation:
        pair.update({key: value for key, value in generation.items() if value is not None})
        if pair.get("status") == GENERATING:
            pair["saved_at"] = _now()
    # The pair as stored, plus its id once more in `response_ids`.
    size = len(bson.encode(pair)) + len(bson.encode({"0": pair["response_id"]})) + reserve_bytes
    max_pairs, max_bytes = settings.CONTENT_BUCKET_SIZE, settings.CONTENT_BUCKET_BYTES
    branch = {"chat_id": chat_id, "branch_id": branch_id}
    # Pre-images (BEFORE): mongomock returns nothing for a post-image that no
    # longer matches the filter, as happens when the push fills the bucket.
    meta = {"_id": 0, "seq": 1, "start": 1, "count": 1, "closed": 1}
    for _ in range(MAX_APPEND_ATTEMPTS):
        with store_call():
            before = connection.collection().find_one_and_update(
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
        with store_call():
            full = connection.collection().find_one_and_update(
                {**branch, "closed": False, "$or": [{"count": {"$gte": max_pairs}}, {"bytes": {"$gt": max_bytes - size}}]},
                {"$set": {"closed": True}},
                projection=meta,
                return_document=ReturnDocument.BEFORE,
            )
        if full is None:
            with store_call():
                full = connection.collection().find_one(branch, projection=meta, sort=[("seq", DESCENDING)])
            if full is not None and not full["closed"]:
                continue  # a bucket opened meanwhile: push into it
        seq, start = (full["seq"] + 1, full["start"] + full["count"]) if full else (0, 0)
        try:
            with store_call():
                connection.collection().insert_one(
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


def utc(moment):
    """A time read from the store, in UTC: the client returns them naive (see
    `connection.connect`); one built here is aware already."""
    return moment.replace(tzinfo=datetime.UTC) if moment is not None and moment.tzinfo is None else moment


def _stored(branch_id, index, pair):
    # Pages build up to 1,000 of these per request: filling the instance's
    # dict directly takes a third of the time of the frozen dataclass's
    # __init__, which sets each field through object.__setattr__.
    stored = object.__new__(StoredPair)
    get = pair.get
    timestamp, saved_at, usage = pair["timestamp"], get("saved_at"), get("usage")
    stored.__dict__.update(
        branch_id=branch_id,
        index=index,
        response_id=pair["response_id"],
        question=pair["question"],
        response=pair["response"],
        timestamp=timestamp if timestamp.tzinfo is not None else timestamp.replace(tzinfo=datetime.UTC),
        branches=list(pair["branches"]),
        status=get("status", COMPLETE),
        model=get("model"),
        finish_reason=get("finish_reason"),
        # A copy: a sliced read hands over mongomock's stored pair itself.
        usage=dict(usage) if usage else usage,
        saved_at=utc(saved_at),
        error_code=get("error_code"),
        error_detail=get("error_detail"),
    )
    return stored


def read_pairs_before(*, chat_id: Id, branch_id: Id, end: int | None = None, limit: int) -> list[StoredPair]:
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
        # Only the newest bucket's last `limit` pairs: what the page can show
        # of it. (mongomock hands a sliced array's pairs over without copying
        # them, so they become StoredPairs under its lock.)
        newest_projection = {**projection, "qa_pairs": {"$slice": -limit}}
        with store_call():
            # The open bucket is the newest; when none is open (a crash between
            # closing one and inserting the next), the highest seq is.
            newest = connection.collection().find_one(
                {**branch, "closed": False}, newest_projection
            ) or connection.collection().find_one(branch, newest_projection, sort=[("seq", DESCENDING)])
            if newest is None:
                return []
            end = newest["end"]
            _take(collected, newest, branch_id, end - limit, end, first=end - len(newest["qa_pairs"]))
        if newest["start"] <= max(end - limit, 0):
            return collected[::-1]
        upper = newest["start"]
    low = end - limit
    with store_call():
        buckets = list(
            connection.collection()
            .find({**branch, "start": {"$lt": upper}, "end": {"$gt": max(low, 0)}}, projection)
            .sort("seq", DESCENDING)
        )
    for bucket in buckets:
        _take(collected, bucket, branch_id, low, upper)
    return collected[::-1]


def _take(collected, bucket, branch_id, low, high, first=None):
    """Append, newest first, the bucket's pairs with index in [low, high).
    `first`: the index of the first pair read, when not the bucket's first."""
    pairs = bucket["qa_pairs"]
    first = bucket["start"] if first is None else first
    branch_id = str(branch_id)
    for offset in range(len(pairs) - 1, -1, -1):
        index = first + offset
        if index < low:
            break
        if index < high:
            collected.append(_stored(branch_id, index, pairs[offset]))


def read_all_pairs(*, chat_id: Id, branch_id: Id) -> list[StoredPair]:
    """Every pair a branch holds itself, oldest first (exports, maintenance)."""
    with store_call():
        cursor = connection.collection().find(
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
    offset: int  # within that bucket


def locate_pair(*, chat_id: Id, response_id: Id) -> PairLocation | None:
    """Where the pair with this response_id is in the chat, or None."""
    response_id = str(response_id)
    with store_call():
        bucket = connection.collection().find_one(
            {"chat_id": str(chat_id), "response_ids": response_id},
            projection={"_id": 0, "branch_id": 1, "seq": 1, "start": 1, "response_ids": 1},
        )
    if bucket is None:
        return None
    offset = bucket["response_ids"].index(response_id)
    return PairLocation(bucket["branch_id"], bucket["start"] + offset, bucket["seq"], offset)


def branch_length(*, chat_id: Id, branch_id: Id) -> int:
    """How many pairs a branch holds itself, read from its newest bucket."""
    with store_call():
        last = connection.collection().find_one(
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


def add_fork(
    *, chat_id: Id, holder_branch_id: Id, response_id: Id, branch_id: Id, seq: int | None = None
) -> bool:
    """Name `branch_id` in the `branches` list of the pair it forks after
    (in bucket `seq`, when known). Returns False when that pair is not there."""
    with store_call():
        result = connection.collection().update_one(
            _fork_pair(chat_id, holder_branch_id, response_id, seq),
            {"$addToSet": {"qa_pairs.$.branches": str(branch_id)}},
        )
    return result.matched_count == 1


def remove_fork(*, chat_id: Id, holder_branch_id: Id, response_id: Id, branch_id: Id) -> bool:
    """Stop naming `branch_id` at the pair it forked after."""
    with store_call():
        result = connection.collection().update_one(
            _fork_pair(chat_id, holder_branch_id, response_id),
            {"$pull": {"qa_pairs.$.branches": str(branch_id)}},
        )
    return result.modified_count == 1


def delete_branch_content(*, chat_id: Id, branch_ids: list[Id]) -> int:
    """Remove every bucket of these branches of a chat; returns how many went."""
    with store_call():
        return connection.collection().delete_many(
            {"chat_id": str(chat_id), "branch_id": {"$in": [str(b) for b in branch_ids]}}
        ).deleted_count


def delete_chat_content(*, chat_id: Id) -> int:
    """Remove every bucket of a chat; returns how many went."""
    with store_call():
        return connection.collection().delete_many({"chat_id": str(chat_id)}).deleted_count


def read_pair(*, chat_id: Id, response_id: Id) -> StoredPair | None:
    """The pair with this response_id in the chat, or None: two small reads
    (where it is, then that one pair), whatever the bucket holds."""
    found = locate_pair(chat_id=chat_id, response_id=response_id)
    if found is None:
        return None
    with store_call():
        bucket = connection.collection().find_one(
            {"chat_id": str(chat_id), "branch_id": found.branch_id, "seq": found.seq},
            projection={"_id": 0, "start": 1, "qa_pairs": {"$slice": [found.offset, 1]}},
        )
        if bucket is None or not bucket["qa_pairs"]:
            return None  # deleted in between
        # Under mongomock's lock: a sliced pair is its stored one, not a copy.
        return _stored(found.branch_id, found.index, bucket["qa_pairs"][0])


def save_generation(*, chat_id: Id, branch_id: Id, response_id: Id, response: str, outcome: dict | None = None) -> bool:
    """Save the text generated so far of a pair still `generating` and, with
    `outcome` (`status`, `finish_reason` …), end its generation. Returns
    whether the pair was saved: False when it is no longer generating (its
    generation was ended elsewhere) or is gone."""
    changes = {"response": response, "saved_at": _now(), **(outcome or {})}
    with store_call():
        result = connection.collection().update_one(
            {
                "chat_id": str(chat_id),
                "branch_id": str(branch_id),
                "qa_pairs": {"$elemMatch": {"response_id": str(response_id), "status": GENERATING}},
            },
            {"$set": {f"qa_pairs.$.{key}": value for key, value in changes.items()}},
        )
    return result.matched_count == 1
