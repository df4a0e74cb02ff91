"""Scans and repairs for operators (`ensure_indexes`, `reconcile_content`):
whole-chat reads without the texts, and the bucket renumbering that puts a
branch's counters back in step with its pairs. Not on any request's path."""

from . import connection
from .buckets import utc
from .connection import store_call
from .documents import ContentBucket


def ensure_indexes() -> list[str]:
    """Create the collection's indexes (idempotent); returns their names."""
    with store_call():
        ContentBucket.ensure_indexes()
    return existing_indexes()


def existing_indexes() -> list[str]:
    with store_call():
        return sorted(connection.collection().index_information())


def pair_tallies() -> tuple[dict[str, int], dict[str, int]]:
    """How many pairs there are by status, and by the model that generated
    them (pairs the client answered have neither field and count as
    complete). One pass over the collection: for `chat_stats`."""
    with store_call():
        rows = list(
            connection.collection().aggregate(
                [
                    {"$unwind": "$qa_pairs"},
                    {"$group": {"_id": {"status": "$qa_pairs.status", "model": "$qa_pairs.model"}, "n": {"$sum": 1}}},
                ]
            )
        )
    statuses: dict[str, int] = {}
    models: dict[str, int] = {}
    for row in rows:
        status = row["_id"].get("status") or "complete"
        statuses[status] = statuses.get(status, 0) + row["n"]
        if row["_id"].get("model"):
            models[row["_id"]["model"]] = models.get(row["_id"]["model"], 0) + row["n"]
    return statuses, models


def content_chat_ids() -> set[str]:
    """Every chat id that has content (finding orphans)."""
    with store_call():
        return set(connection.collection().distinct("chat_id"))


def bucket_outlines(*, chat_id) -> list[dict]:
    """Every bucket of a chat without the texts: ids, fork lists and counters,
    for consistency checks; by branch, then seq."""
    with store_call():
        outlines = list(
            connection.collection()
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
                    "qa_pairs.status": 1,
                    "qa_pairs.saved_at": 1,
                    "written_at": 1,
                },
            )
            .sort([("branch_id", 1), ("seq", 1)])
        )
    for outline in outlines:  # times in UTC, as the rest of the repository gives them
        if "written_at" in outline:
            outline["written_at"] = utc(outline["written_at"])
        for pair in outline.get("qa_pairs", ()):
            for field in ("timestamp", "saved_at"):
                if field in pair:
                    pair[field] = utc(pair[field])
    return outlines


def renumber_buckets(*, chat_id, branch_id) -> int:
    """Make a branch's bucket counters agree with what the buckets hold: seq
    0, 1, 2 … in their order, `start` the running total of pairs, `count` the
    pairs held, `response_ids` their ids, every bucket but the last closed.
    The pairs themselves are not touched. Returns the branch's pair count."""
    outlines = [b for b in bucket_outlines(chat_id=chat_id) if b["branch_id"] == str(branch_id)]
    start = 0
    for seq, bucket in enumerate(outlines):
        held = len(bucket["qa_pairs"])
        with store_call():
            connection.collection().update_one(
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
