"""Whole chats at once: writing an imported (or forked) chat's pairs, and
reading every pair of a chat, each in one store call whatever the number of
pairs.

Writing builds the buckets here as `buckets.append_pair` would have left
them after appending the pairs one by one and forking the branches (full
buckets closed, the last one open, the same count and byte limits, the same
counters), plus the time they were written (`written_at`: imported pairs
keep their old times), and inserts them with one `insert_many`: the cost
follows the buckets, never one call per pair.
"""

import datetime
import uuid

import bson
from django.conf import settings

from . import connection
from .buckets import GENERATING, Id, StoredPair, _now, _stored, _to_millis
from .connection import store_call


def new_pair(
    *,
    question: str,
    response: str,
    timestamp: datetime.datetime,
    response_id: Id | None = None,
    generation: dict | None = None,
    branches: list[Id] = (),
) -> dict:
    """A pair as stored, for `write_chat`: `generation` as `append_pair` takes
    it; `branches`, the ids of the branches that fork right after it."""
    pair = {
        "question": question,
        "response": response,
        "response_id": str(response_id or uuid.uuid4()),
        "timestamp": _to_millis(timestamp),
        "branches": [str(b) for b in branches],
    }
    if generation:
        pair.update({key: value for key, value in generation.items() if value is not None})
        if pair.get("status") == GENERATING:
            pair["saved_at"] = _now()
    return pair


def write_chat(*, chat_id: Id, branches: list[tuple[Id, list[dict]]]) -> int:
    """Store the pairs of a chat that has no content yet: `branches` lists
    (branch id, its own pairs as `new_pair` makes them, oldest first).
    Returns how many buckets were written (0: nothing to write, no call)."""
    documents = []
    for branch_id, pairs in branches:
        documents += _buckets(str(chat_id), str(branch_id), pairs)
    if documents:
        with store_call():
            # ordered: a failure stops at the first bucket it could not write,
            # and the caller removes what got in (delete_chat_content).
            connection.collection().insert_many(documents, ordered=True)
    return len(documents)


def _buckets(chat_id, branch_id, pairs):
    max_pairs, max_bytes = settings.CONTENT_BUCKET_SIZE, settings.CONTENT_BUCKET_BYTES
    buckets, current, written_at = [], None, _now()
    for pair in pairs:
        # Measured as `append_pair` measures it: before any branch forks
        # after it (`add_fork` does not count the fork list either).
        size = len(bson.encode({**pair, "branches": []})) + len(bson.encode({"0": pair["response_id"]}))
        if current is None or current["count"] >= max_pairs or current["bytes"] + size > max_bytes:
            if current is not None:
                current["closed"] = True
            start = current["end"] if current else 0
            current = {
                # When it was written, for reconcile_content's grace period:
                # imported pairs keep their old timestamps.
                "written_at": written_at,
                "chat_id": chat_id,
                "branch_id": branch_id,
                "seq": len(buckets),
                "start": start,
                "count": 0,
                "end": start,
                "bytes": 0,
                "closed": False,
                "qa_pairs": [],
                "response_ids": [],
            }
            buckets.append(current)
        current["qa_pairs"].append(pair)
        current["response_ids"].append(pair["response_id"])
        current["count"] += 1
        current["end"] += 1
        current["bytes"] += size
    return buckets


def read_chat(*, chat_id: Id) -> dict[str, list[StoredPair]]:
    """Every pair of a chat, by branch id, each branch's oldest first: one call."""
    pairs = {}
    with store_call():
        cursor = connection.collection().find(
            {"chat_id": str(chat_id)},
            projection={"_id": 0, "branch_id": 1, "seq": 1, "start": 1, "qa_pairs": 1},
        )
        buckets = sorted(cursor, key=lambda bucket: (bucket["branch_id"], bucket["seq"]))
    for bucket in buckets:
        held = pairs.setdefault(bucket["branch_id"], [])
        held += [_stored(bucket["branch_id"], bucket["start"] + i, pair) for i, pair in enumerate(bucket["qa_pairs"])]
    return pairs


def stored_pairs(*, branch_id: Id, pairs: list[dict]) -> list[StoredPair]:
    """Pairs made by `new_pair`, as `write_chat` stores them on that branch
    (their index: their place in the list)."""
    return [_stored(str(branch_id), index, pair) for index, pair in enumerate(pairs)]
