"""The content repository: bucketed appends, paging reads, sizes and races."""

import dataclasses
import random
import threading
import uuid

import bson
import pytest

from chats import content_repository
from chats.tests.stores import raw_buckets


def new_branch():
    return uuid.uuid4(), uuid.uuid4()


def append(chat_id, branch_id, question="q", response="r"):
    return content_repository.append_pair(chat_id=chat_id, branch_id=branch_id, question=question, response=response)


def buckets(chat_id, branch_id):
    return list(
        raw_buckets().find({"chat_id": str(chat_id), "branch_id": str(branch_id)}).sort("seq", 1)
    )


def all_pairs(chat_id, branch_id):
    return content_repository.read_pairs_before(chat_id=chat_id, branch_id=branch_id, limit=1_000_000)


def test_appends_fill_buckets_of_bucket_size_in_order(settings):
    settings.CONTENT_BUCKET_SIZE = 3
    chat_id, branch_id = new_branch()

    stored = [append(chat_id, branch_id, question=f"q{i}") for i in range(8)]

    assert [p.index for p in stored] == list(range(8))
    docs = buckets(chat_id, branch_id)
    assert [(d["seq"], d["start"], d["count"], d["closed"]) for d in docs] == [
        (0, 0, 3, True),
        (1, 3, 3, True),
        (2, 6, 2, False),
    ]
    assert [p.question for p in all_pairs(chat_id, branch_id)] == [f"q{i}" for i in range(8)]


def test_a_pair_that_does_not_fit_closes_the_bucket_for_good(settings):
    settings.CONTENT_BUCKET_BYTES = 2_000
    chat_id, branch_id = new_branch()

    append(chat_id, branch_id, response="a" * 100)
    append(chat_id, branch_id, response="b" * 1_900)  # does not fit beside the first
    append(chat_id, branch_id, response="c" * 10)  # would fit in bucket 0, must not go there

    docs = buckets(chat_id, branch_id)
    assert [(d["seq"], d["start"], d["count"], d["closed"]) for d in docs] == [(0, 0, 1, True), (1, 1, 1, True), (2, 2, 1, False)]
    assert [p.response[0] for p in all_pairs(chat_id, branch_id)] == ["a", "b", "c"]


def test_a_pair_larger_than_the_byte_budget_gets_a_bucket_of_its_own(settings):
    settings.CONTENT_BUCKET_BYTES = 1_000
    chat_id, branch_id = new_branch()

    append(chat_id, branch_id)
    big = append(chat_id, branch_id, response="x" * 5_000)
    after = append(chat_id, branch_id)

    assert (big.index, after.index) == (1, 2)
    assert [d["count"] for d in buckets(chat_id, branch_id)] == [1, 1, 1]


def test_read_pairs_before_pages_across_buckets(settings):
    settings.CONTENT_BUCKET_SIZE = 4
    chat_id, branch_id = new_branch()
    for i in range(10):
        append(chat_id, branch_id, question=f"q{i}")

    def page(end, limit):
        pairs = content_repository.read_pairs_before(chat_id=chat_id, branch_id=branch_id, end=end, limit=limit)
        return [(p.index, p.question) for p in pairs]

    assert page(None, 3) == [(7, "q7"), (8, "q8"), (9, "q9")]
    assert page(None, 1) == [(9, "q9")]  # a part of the newest bucket
    append(chat_id, branch_id, question="q10")
    append(chat_id, branch_id, question="q11")  # the newest bucket full: 8 … 11
    assert page(None, 3) == [(9, "q9"), (10, "q10"), (11, "q11")]
    assert page(None, 5) == [(7, "q7"), (8, "q8"), (9, "q9"), (10, "q10"), (11, "q11")]
    assert page(6, 5) == [(1, "q1"), (2, "q2"), (3, "q3"), (4, "q4"), (5, "q5")]
    assert page(2, 5) == [(0, "q0"), (1, "q1")]
    assert page(0, 5) == []
    assert page(None, 100) == [(i, f"q{i}") for i in range(12)]


def test_a_page_reads_only_the_buckets_it_needs(settings):
    settings.CONTENT_BUCKET_SIZE = 10
    chat_id, branch_id = new_branch()
    for _ in range(200):
        append(chat_id, branch_id)

    calls = content_repository.calls()
    pairs = content_repository.read_pairs_before(chat_id=chat_id, branch_id=branch_id, end=150, limit=15)

    assert [p.index for p in pairs] == list(range(135, 150))
    assert content_repository.calls() - calls == 1


def test_content_over_16_mb_is_stored_with_no_document_over_the_budget(settings):
    chat_id, branch_id = new_branch()
    response = "r" * 100_000
    for i in range(200):
        append(chat_id, branch_id, question=f"q{i}", response=response)

    docs = buckets(chat_id, branch_id)
    sizes = [len(bson.encode(d)) for d in docs]
    assert sum(sizes) > 20_000_000
    # The budget counts the pairs; the envelope (ids, counters) adds a few hundred bytes.
    assert max(sizes) <= settings.CONTENT_BUCKET_BYTES + 1_000
    assert max(sizes) < 16 * 1024 * 1024
    pairs = all_pairs(chat_id, branch_id)
    assert [p.question for p in pairs] == [f"q{i}" for i in range(200)]
    assert all(p.response == response for p in pairs)


def test_locate_pair_finds_branch_and_index(settings):
    settings.CONTENT_BUCKET_SIZE = 2
    chat_id, branch_id = new_branch()
    stored = [append(chat_id, branch_id) for _ in range(5)]

    assert content_repository.locate_pair(chat_id=chat_id, response_id=stored[3].response_id) == (str(branch_id), 3, 1, 1)
    assert content_repository.locate_pair(chat_id=chat_id, response_id=uuid.uuid4()) is None
    assert content_repository.locate_pair(chat_id=uuid.uuid4(), response_id=stored[3].response_id) is None


def test_concurrent_appends_lose_nothing_and_leave_no_gaps(settings):
    settings.CONTENT_BUCKET_SIZE = 4
    chat_id, branch_id = new_branch()
    results, errors = [], []

    def writer(n):
        try:
            for i in range(10):
                results.append(append(chat_id, branch_id, question=f"{n}-{i}"))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    pairs = all_pairs(chat_id, branch_id)
    assert [p.index for p in pairs] == list(range(80))
    assert sorted(p.question for p in pairs) == sorted(f"{n}-{i}" for n in range(8) for i in range(10))
    # What each append reported is where the pair really is.
    assert {p.response_id: p.index for p in results} == {p.response_id: p.index for p in pairs}
    # Each writer's own pairs keep the order it wrote them in.
    for n in range(8):
        mine = [int(p.question.split("-")[1]) for p in pairs if p.question.startswith(f"{n}-")]
        assert mine == list(range(10))


def test_large_and_small_pairs_racing_at_a_boundary_keep_append_order(settings):
    settings.CONTENT_BUCKET_BYTES = 20_000
    chat_id, branch_id = new_branch()
    rng = random.Random(7)
    results = []

    def writer(n):
        for i in range(15):
            size = rng.choice([10, 100, 9_000, 15_000])
            results.append(append(chat_id, branch_id, question=f"{n}-{i}", response="x" * size))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    pairs = all_pairs(chat_id, branch_id)
    assert [p.index for p in pairs] == list(range(60))
    assert {p.response_id: p.index for p in results} == {p.response_id: p.index for p in pairs}
    docs = buckets(chat_id, branch_id)
    assert [d["start"] for d in docs] == [sum(x["count"] for x in docs[:k]) for k in range(len(docs))]
    assert all(d["closed"] for d in docs[:-1])
    for n in range(4):
        mine = [int(p.question.split("-")[1]) for p in pairs if p.question.startswith(f"{n}-")]
        assert mine == list(range(15))


def test_every_call_is_counted():
    chat_id, branch_id = new_branch()
    calls = content_repository.calls()

    append(chat_id, branch_id)  # no bucket yet: push, close, find last, insert
    append(chat_id, branch_id)  # the usual case: one conditional push

    assert content_repository.calls() - calls == 5


def test_delete_chat_content_removes_only_that_chat():
    chat_id, branch_id = new_branch()
    other_chat, other_branch = new_branch()
    append(chat_id, branch_id)
    append(other_chat, other_branch)

    assert content_repository.delete_chat_content(chat_id=chat_id) == 1
    assert all_pairs(chat_id, branch_id) == []
    assert len(all_pairs(other_chat, other_branch)) == 1


def test_unreachable_mongodb_is_content_store_unavailable(mongo_down):
    with pytest.raises(content_repository.ContentStoreUnavailable):
        append(*new_branch())


def test_ensure_indexes_is_idempotent():
    first = content_repository.ensure_indexes()
    second = content_repository.ensure_indexes()

    assert first == second == ["_id_", "chat_branch_seq_unique", "chat_id", "chat_response_id"]


def test_latest_page_reads_right_when_no_bucket_is_open(settings):
    # A crash between closing the newest bucket and inserting the next leaves
    # every bucket closed.
    settings.CONTENT_BUCKET_SIZE = 3
    chat_id, branch_id = new_branch()
    for i in range(7):
        append(chat_id, branch_id, question=f"q{i}")
    raw_buckets().update_many({"chat_id": str(chat_id)}, {"$set": {"closed": True}})

    pairs = content_repository.read_pairs_before(chat_id=chat_id, branch_id=branch_id, limit=4)
    after = append(chat_id, branch_id, question="q7")

    assert [(p.index, p.question) for p in pairs] == [(3, "q3"), (4, "q4"), (5, "q5"), (6, "q6")]
    assert after.index == 7
    assert [d["end"] for d in buckets(chat_id, branch_id)] == [3, 6, 7, 8]


def test_read_pair_reads_one_pair_with_its_place(settings):
    settings.CONTENT_BUCKET_SIZE = 2
    chat_id, branch_id = new_branch()
    stored = [append(chat_id, branch_id, question=f"q{i}") for i in range(5)]

    found = content_repository.read_pair(chat_id=chat_id, response_id=stored[3].response_id)

    assert found == stored[3]
    assert content_repository.read_pair(chat_id=uuid.uuid4(), response_id=stored[3].response_id) is None


def test_a_generation_saves_until_it_ends_once_and_keeps_why():
    chat_id, branch_id = new_branch()
    pair = content_repository.append_pair(
        chat_id=chat_id, branch_id=branch_id, question="q", response="", generation={"status": "generating", "model": "m"}
    )
    ids = {"chat_id": chat_id, "branch_id": branch_id, "response_id": pair.response_id}
    outcome = {
        "status": "interrupted", "finish_reason": "error",
        "error_code": "model_error", "error_detail": "The server said no.",
    }

    saved = content_repository.save_generation(**ids, response="Hel")
    ended = content_repository.save_generation(**ids, response="Hello", outcome=outcome)
    after = content_repository.save_generation(**ids, response="Hello!")

    assert (saved, ended, after) == (True, True, False)
    final = content_repository.read_pair(chat_id=chat_id, response_id=pair.response_id)
    assert (final.response, final.status, final.finish_reason, final.model) == ("Hello", "interrupted", "error", "m")
    assert (final.error_code, final.error_detail) == ("model_error", "The server said no.")


def test_a_pair_read_back_is_the_stored_pair_with_every_field():
    """Reads build `StoredPair`s by filling their dict (a page builds up to
    1,000): every field must be there, defaults included, as the dataclass's
    own constructor would set them."""
    chat_id, branch_id = new_branch()
    plain = append(chat_id, branch_id, question="plain", response="answer")
    generated = content_repository.append_pair(
        chat_id=chat_id, branch_id=branch_id, question="asked", response="", generation={"status": "generating", "model": "m"}
    )

    read = all_pairs(chat_id, branch_id)

    fields = {field.name for field in dataclasses.fields(content_repository.StoredPair)}
    assert [set(vars(pair)) for pair in read] == [fields, fields]
    assert read[0] == content_repository.StoredPair(
        branch_id=str(branch_id), index=0, response_id=plain.response_id, question="plain", response="answer",
        timestamp=plain.timestamp, branches=[],
    )
    assert read[1] == content_repository.StoredPair(
        branch_id=str(branch_id), index=1, response_id=generated.response_id, question="asked", response="",
        timestamp=generated.timestamp, branches=[], status="generating", model="m", saved_at=generated.saved_at,
    )
    assert generated.saved_at is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        read[0].question = "edited"
