"""The content repository's contract, through its public functions only.

Every test runs on mongomock in process, on the suite's wire-protocol test
double (one mongomock store in a server process of its own, reached through
the real pymongo driver: chatproject/tests/mongo_wire.py, started once per
session), and once more on a real MongoDB when `MONGODB_URI` names one
(`mongodb://…`; marker `real_mongo`), in a database whose name says "test"
(`<its database>_contract_test`), dropped before and after each test:

    MONGODB_URI=mongodb://127.0.0.1:27017/chat make test PYTEST_ARGS="chats/tests/test_content_contract.py"
"""

import threading
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

from chatproject.tests import mongo_wire
from chats import content_repository
from chats.tests.stores import drop_all_content


def contract_test_uri(uri):
    """The same server, in a database of its own whose name says "test"."""
    parts = urlsplit(uri)
    database = parts.path.strip("/") or "chat"
    return urlunsplit(parts._replace(path=f"/{database}_contract_test"))


@pytest.fixture(scope="session")
def wire_server_uri():
    """The wire-protocol test double, in a process of its own for the session."""
    with mongo_wire.server_process() as port:
        yield f"mongodb://127.0.0.1:{port}/chat"


@pytest.fixture(params=["mongomock", "wire", pytest.param("mongodb", marks=pytest.mark.real_mongo)])
def store(request):
    if request.param == "mongomock":
        uri = settings.MONGODB_URI
    elif request.param == "wire":
        uri = contract_test_uri(request.getfixturevalue("wire_server_uri"))
    else:
        uri = contract_test_uri(settings.REAL_MONGODB_URI)
    content_repository.connect(uri)
    assert "test" in content_repository.database_name()
    content_repository.ensure_indexes()
    drop_all_content()
    yield request.param
    drop_all_content()
    content_repository.connect(settings.MONGODB_URI)


def ids():
    return uuid.uuid4(), uuid.uuid4()


def append(chat_id, branch_id, question="q", response="r"):
    return content_repository.append_pair(chat_id=chat_id, branch_id=branch_id, question=question, response=response)


def texts(pairs):
    return [(p.index, p.question, p.response) for p in pairs]


def outlines(chat_id, branch_id):
    return [b for b in content_repository.bucket_outlines(chat_id=chat_id) if b["branch_id"] == str(branch_id)]


# --- appends ----------------------------------------------------------------


def test_appends_take_consecutive_indexes_and_read_back_in_order(store):
    chat_id, branch_id = ids()

    stored = [append(chat_id, branch_id, f"q{n}", f"r{n}") for n in range(5)]

    assert [p.index for p in stored] == [0, 1, 2, 3, 4]
    pairs = content_repository.read_all_pairs(chat_id=chat_id, branch_id=branch_id)
    assert texts(pairs) == [(n, f"q{n}", f"r{n}") for n in range(5)]
    assert [p.response_id for p in pairs] == [p.response_id for p in stored]
    assert [p.timestamp for p in pairs] == [p.timestamp for p in stored]
    assert content_repository.branch_length(chat_id=chat_id, branch_id=branch_id) == 5


def test_concurrent_appends_lose_nothing_and_keep_each_writers_order(store, settings):
    settings.CONTENT_BUCKET_SIZE = 7  # many roll-overs while the writers race
    chat_id, branch_id = ids()
    writers, per_writer = 6, 20
    start = threading.Barrier(writers)
    results, failures = {}, []

    def write(writer):
        try:
            start.wait()
            results[writer] = [append(chat_id, branch_id, f"w{writer}", str(n)).index for n in range(per_writer)]
        except Exception as exc:  # reported below, with the writer
            failures.append((writer, exc))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    pairs = content_repository.read_all_pairs(chat_id=chat_id, branch_id=branch_id)
    total = writers * per_writer
    assert [p.index for p in pairs] == list(range(total))
    assert sorted(i for indexes in results.values() for i in indexes) == list(range(total))
    for writer, indexes in results.items():
        # Each writer's pairs are stored in the order it appended them, where it was told.
        assert indexes == sorted(indexes)
        assert [p.response for p in pairs if p.question == f"w{writer}"] == [str(n) for n in range(per_writer)]
        assert [p.index for p in pairs if p.question == f"w{writer}"] == indexes
    assert content_repository.branch_length(chat_id=chat_id, branch_id=branch_id) == total


# --- buckets ------------------------------------------------------------------


def test_a_full_bucket_is_closed_and_the_next_one_continues(store, settings):
    settings.CONTENT_BUCKET_SIZE = 3
    chat_id, branch_id = ids()

    for n in range(10):
        append(chat_id, branch_id, f"q{n}")

    buckets = outlines(chat_id, branch_id)
    assert [(b["seq"], b["start"], b["count"], b["closed"]) for b in buckets] == [
        (0, 0, 3, True),
        (1, 3, 3, True),
        (2, 6, 3, True),
        (3, 9, 1, False),
    ]
    assert [p.question for p in content_repository.read_all_pairs(chat_id=chat_id, branch_id=branch_id)] == [
        f"q{n}" for n in range(10)
    ]


def test_a_bucket_never_takes_more_bytes_than_its_budget(store, settings):
    settings.CONTENT_BUCKET_BYTES = 2000
    chat_id, branch_id = ids()

    for n in range(10):
        append(chat_id, branch_id, f"{n}" + "x" * 600)

    counts = [b["count"] for b in outlines(chat_id, branch_id)]
    # Each pair carries over 600 bytes of text: at most three fit in 2,000.
    assert sum(counts) == 10
    assert max(counts) <= 3
    assert len(counts) >= 4
    questions = [p.question[0] for p in content_repository.read_all_pairs(chat_id=chat_id, branch_id=branch_id)]
    assert questions == [str(n) for n in range(10)]


# --- reading pages and finding pairs -------------------------------------------


def test_pages_read_across_buckets(store, settings):
    settings.CONTENT_BUCKET_SIZE = 4
    chat_id, branch_id = ids()
    stored = [append(chat_id, branch_id, f"q{n}") for n in range(11)]

    def page(end, limit):
        pairs = content_repository.read_pairs_before(chat_id=chat_id, branch_id=branch_id, end=end, limit=limit)
        return [p.index for p in pairs]

    assert page(None, 5) == [6, 7, 8, 9, 10]
    assert page(None, 50) == list(range(11))
    assert page(6, 5) == [1, 2, 3, 4, 5]
    assert page(3, 5) == [0, 1, 2]
    assert page(0, 5) == []
    assert page(None, 0) == []
    assert content_repository.read_pairs_before(chat_id=chat_id, branch_id=uuid.uuid4(), limit=5) == []
    located = content_repository.locate_pair(chat_id=chat_id, response_id=stored[9].response_id)
    assert (located.branch_id, located.index, located.seq) == (str(branch_id), 9, 2)
    assert content_repository.locate_pair(chat_id=uuid.uuid4(), response_id=stored[9].response_id) is None


# --- fork lists ---------------------------------------------------------------


def test_fork_lists_name_each_branch_once_and_forget_it_on_removal(store, settings):
    settings.CONTENT_BUCKET_SIZE = 2
    chat_id, branch_id = ids()
    pairs = [append(chat_id, branch_id, f"q{n}") for n in range(5)]
    fork_at = pairs[3]  # in the second bucket
    seq = content_repository.locate_pair(chat_id=chat_id, response_id=fork_at.response_id).seq
    first, second = str(uuid.uuid4()), str(uuid.uuid4())

    assert content_repository.add_fork(
        chat_id=chat_id, holder_branch_id=branch_id, response_id=fork_at.response_id, branch_id=first
    )
    assert content_repository.add_fork(
        chat_id=chat_id, holder_branch_id=branch_id, response_id=fork_at.response_id, branch_id=second, seq=seq
    )
    assert content_repository.add_fork(
        chat_id=chat_id, holder_branch_id=branch_id, response_id=fork_at.response_id, branch_id=first
    )
    assert not content_repository.add_fork(
        chat_id=chat_id, holder_branch_id=branch_id, response_id=uuid.uuid4(), branch_id=first
    )

    def forks():
        return {p.index: p.branches for p in content_repository.read_all_pairs(chat_id=chat_id, branch_id=branch_id)}

    assert forks() == {0: [], 1: [], 2: [], 3: [first, second], 4: []}
    assert content_repository.remove_fork(
        chat_id=chat_id, holder_branch_id=branch_id, response_id=fork_at.response_id, branch_id=first
    )
    assert not content_repository.remove_fork(
        chat_id=chat_id, holder_branch_id=branch_id, response_id=fork_at.response_id, branch_id=first
    )
    assert forks() == {0: [], 1: [], 2: [], 3: [second], 4: []}


# --- deletes ------------------------------------------------------------------


def test_deletes_remove_only_what_they_name(store):
    chat_id, branch_id = ids()
    other_branch = uuid.uuid4()
    other_chat, other_chat_branch = ids()
    for chat, branch in ((chat_id, branch_id), (chat_id, other_branch), (other_chat, other_chat_branch)):
        append(chat, branch)
        append(chat, branch)

    assert content_repository.delete_branch_content(chat_id=chat_id, branch_ids=[other_branch]) == 1
    assert content_repository.branch_length(chat_id=chat_id, branch_id=other_branch) == 0
    assert content_repository.branch_length(chat_id=chat_id, branch_id=branch_id) == 2
    assert content_repository.content_chat_ids() == {str(chat_id), str(other_chat)}

    assert content_repository.delete_chat_content(chat_id=chat_id) == 1
    assert content_repository.content_chat_ids() == {str(other_chat)}
    assert content_repository.branch_length(chat_id=other_chat, branch_id=other_chat_branch) == 2


# --- indexes ------------------------------------------------------------------


def test_ensure_indexes_creates_the_documented_indexes_idempotently(store):
    expected = ["_id_", "chat_branch_seq_unique", "chat_id", "chat_response_id"]

    assert content_repository.ensure_indexes() == expected
    assert content_repository.ensure_indexes() == expected
    assert content_repository.existing_indexes() == expected
