"""The MongoDB wire-protocol test double (chatproject/tests/mongo_wire.py),
through the real pymongo driver, with the server in a process of its own as
the suite runs it (`python -m chatproject.tests.mongo_wire --port 0`).

The double is one mongomock store, not a MongoDB: these tests pin down what
the content repository relies on, not MongoDB's whole behaviour."""

import datetime
import subprocess
import sys
import textwrap
import threading
import uuid

import pymongo
import pytest
from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError, ConfigurationError, ConnectionFailure, DuplicateKeyError, OperationFailure

from chatproject.tests.mongo_wire import MongoWireServer, server_process


@pytest.fixture(scope="module")
def port():
    with server_process() as port:
        yield port


def client_of(uri):
    return pymongo.MongoClient(uri, uuidRepresentation="standard", tz_aware=True, serverSelectionTimeoutMS=5000)


@pytest.fixture
def db(port):
    """A database of its own on the shared server, dropped afterwards."""
    client = client_of(f"mongodb://127.0.0.1:{port}/wire_test_{uuid.uuid4().hex[:12]}")
    database = client.get_default_database()
    yield database
    client.drop_database(database.name)
    client.close()


def test_it_says_it_is_a_standalone_that_takes_no_sessions(db):
    hello = db.client.admin.command("hello")

    assert hello["isWritablePrimary"] is True
    assert (hello["minWireVersion"], hello["maxWireVersion"]) == (0, 21)
    assert (hello["maxBsonObjectSize"], hello["maxMessageSizeBytes"], hello["maxWriteBatchSize"]) == (
        16777216,
        48000000,
        100000,
    )
    assert "logicalSessionTimeoutMinutes" not in hello and "setName" not in hello
    assert db.client.admin.command("isMaster")["ismaster"] is True
    assert db.command("ping")["ok"] == 1
    assert db.client.server_info()["versionArray"][:2] == [7, 0]
    with db.client.start_session() as session, pytest.raises(ConfigurationError, match="Sessions are not supported"):
        db.things.find_one({}, session=session)


def test_insert_find_and_update_with_push_and_inc(db):
    things = db.things
    things.insert_many([{"seq": n, "items": [], "count": 0} for n in range(5)])

    result = things.update_one({"seq": 2}, {"$push": {"items": "a"}, "$inc": {"count": 1}})
    things.update_one({"seq": 2}, {"$push": {"items": "b"}, "$inc": {"count": 1}})

    assert (result.matched_count, result.modified_count) == (1, 1)
    assert things.find_one({"seq": 2}, {"_id": 0}) == {"seq": 2, "items": ["a", "b"], "count": 2}
    page = things.find({}, {"_id": 0, "seq": 1}).sort("seq", pymongo.DESCENDING).skip(1).limit(2)
    assert list(page) == [{"seq": 3}, {"seq": 2}]
    assert things.count_documents({"seq": {"$gte": 3}}) == 2
    upserted = things.update_one({"seq": 9}, {"$set": {"count": 7}}, upsert=True)
    assert upserted.upserted_id is not None and upserted.matched_count == 0
    assert things.update_many({}, {"$inc": {"count": 1}}).modified_count == 6


def test_uuids_and_datetimes_come_back_as_the_driver_sent_them(db):
    some_id = uuid.uuid4()
    moment = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=datetime.UTC)

    db.things.insert_one({"id": some_id, "at": moment})

    found = db.things.find_one({"id": some_id}, {"_id": 0})
    assert found == {"id": some_id, "at": moment.replace(microsecond=123000)}
    assert found["at"].utcoffset() == datetime.timedelta(0)
    assert db.things.find_one({"at": {"$gt": moment - datetime.timedelta(seconds=1)}}) is not None


def test_positional_update_through_an_elem_match_filter(db):
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    db.buckets.insert_one(
        {"chat": "c", "qa_pairs": [{"response_id": first, "response": "1"}, {"response_id": second, "response": "2"}]}
    )

    def by_response(response_id):
        return {"chat": "c", "qa_pairs": {"$elemMatch": {"response_id": response_id}}}

    assert db.buckets.update_one(by_response(second), {"$set": {"qa_pairs.$.response": "two"}}).matched_count == 1
    assert db.buckets.update_one(by_response(first), {"$addToSet": {"qa_pairs.$.branches": "b"}}).modified_count == 1
    assert db.buckets.update_one(by_response("missing"), {"$set": {"qa_pairs.$.response": "x"}}).matched_count == 0
    assert db.buckets.find_one({}, {"_id": 0})["qa_pairs"] == [
        {"response_id": first, "response": "1", "branches": ["b"]},
        {"response_id": second, "response": "two"},
    ]


def test_find_one_and_update_returns_the_projected_pre_image(db):
    db.buckets.insert_many([{"branch": "b", "seq": n, "count": 2, "closed": n < 2} for n in range(3)])

    before = db.buckets.find_one_and_update(
        {"branch": "b", "closed": False, "count": {"$lt": 3}},
        {"$inc": {"count": 1}, "$set": {"closed": True}},
        projection={"_id": 0, "seq": 1, "count": 1},
        return_document=ReturnDocument.BEFORE,
    )

    assert before == {"seq": 2, "count": 2}
    assert db.buckets.find_one({"seq": 2}, {"_id": 0}) == {"branch": "b", "seq": 2, "count": 3, "closed": True}
    # Nothing open any more: no document, and nothing changed.
    assert db.buckets.find_one_and_update({"branch": "b", "closed": False}, {"$set": {"count": 0}}) is None
    # Sorted, and the post-image even though it no longer matches the filter (as MongoDB does).
    after = db.buckets.find_one_and_update(
        {"branch": "b", "closed": True},
        {"$set": {"closed": False}},
        projection={"_id": 0, "seq": 1, "closed": 1},
        sort=[("seq", pymongo.DESCENDING)],
        return_document=ReturnDocument.AFTER,
    )
    assert after == {"seq": 2, "closed": False}
    created = db.buckets.find_one_and_update(
        {"branch": "new", "seq": 0}, {"$set": {"count": 1}}, upsert=True, return_document=ReturnDocument.AFTER
    )
    assert (created["branch"], created["seq"], created["count"]) == ("new", 0, 1)
    assert db.buckets.find_one_and_delete({"branch": "new"}, projection={"_id": 0, "count": 1}) == {"count": 1}


def test_a_unique_index_raises_duplicate_key_error(db):
    db.buckets.create_index([("chat", 1), ("seq", 1)], unique=True, name="chat_seq_unique")
    db.buckets.insert_one({"chat": "c", "seq": 0})

    with pytest.raises(DuplicateKeyError) as raised:
        db.buckets.insert_one({"chat": "c", "seq": 0})

    assert raised.value.code == 11000
    assert raised.value.details["errmsg"] == (
        f"E11000 duplicate key error collection: {db.name}.buckets "
        'index: chat_seq_unique dup key: { chat: "c", seq: 0 }'
    )
    assert raised.value.details["keyPattern"] == {"chat": 1, "seq": 1}
    with pytest.raises(BulkWriteError) as bulk:
        db.buckets.insert_many([{"chat": "c", "seq": n} for n in (1, 0, 2)], ordered=False)
    assert bulk.value.details["nInserted"] == 2
    assert [e["code"] for e in bulk.value.details["writeErrors"]] == [11000]


def test_slice_projections(db):
    db.buckets.insert_one({"chat": "c", "items": list(range(10))})

    assert db.buckets.find_one({}, {"_id": 0, "items": {"$slice": [3, 2]}}) == {"chat": "c", "items": [3, 4]}
    assert db.buckets.find_one({}, {"_id": 0, "items": {"$slice": -2}})["items"] == [8, 9]
    assert db.buckets.find_one({}, {"_id": 0, "items": {"$slice": [20, 1]}})["items"] == []


def test_delete_many_distinct_aggregate_and_indexes(db):
    db.buckets.insert_many([{"chat": chat, "n": n} for chat in ("c1", "c2") for n in range(3)])
    db.buckets.create_index([("chat", 1)], name="chat")

    assert sorted(db.buckets.distinct("chat")) == ["c1", "c2"]
    assert db.buckets.distinct("n", {"chat": "c2"}) == [0, 1, 2]
    totals = db.buckets.aggregate([{"$group": {"_id": "$chat", "sum": {"$sum": "$n"}}}, {"$sort": {"_id": 1}}])
    assert list(totals) == [{"_id": "c1", "sum": 3}, {"_id": "c2", "sum": 3}]
    assert db.buckets.delete_many({"chat": "c1"}).deleted_count == 3
    assert db.buckets.delete_one({"chat": "c2"}).deleted_count == 1
    assert db.buckets.count_documents({}) == 2
    assert [index["name"] for index in db.buckets.list_indexes()] == ["_id_", "chat"]
    assert sorted(db.buckets.index_information()) == ["_id_", "chat"]
    db.buckets.drop_index("chat")
    assert sorted(db.buckets.index_information()) == ["_id_"]
    assert db.list_collection_names() == ["buckets"]
    assert db.missing.index_information() == {}
    db.buckets.drop()
    assert db.list_collection_names() == []


def test_what_mongomock_lacks_is_an_error_not_a_wrong_answer(db):
    db.things.insert_one({"items": [{"k": 1}]})

    with pytest.raises(OperationFailure) as unknown:
        db.command("noSuchCommand")
    with pytest.raises(OperationFailure) as array_filters:
        db.things.update_one({}, {"$set": {"items.$[i].k": 2}}, array_filters=[{"i.k": 1}])
    with pytest.raises(OperationFailure) as collation:
        list(db.things.find({}, collation={"locale": "fr"}))

    assert (unknown.value.code, unknown.value.details["codeName"]) == (59, "CommandNotFound")
    assert array_filters.value.code == collation.value.code == 238


def test_two_processes_see_the_same_data(port, db):
    db.shared.insert_one({"from": "parent"})
    child = textwrap.dedent(
        """
        import sys, pymongo
        db = pymongo.MongoClient(sys.argv[1], serverSelectionTimeoutMS=5000).get_default_database()
        assert db.shared.find_one({"from": "parent"}) is not None
        db.shared.insert_one({"from": "child"})
        print(db.shared.count_documents({}))
        """
    )

    done = subprocess.run(
        [sys.executable, "-c", child, f"mongodb://127.0.0.1:{port}/{db.name}"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2"
    assert sorted(d["from"] for d in db.shared.find()) == ["child", "parent"]


def test_concurrent_pushes_lose_nothing(db):
    threads_count, pushes = 8, 200
    db.lists.insert_one({"_id": "list", "items": [], "count": 0})
    start, failures = threading.Barrier(threads_count), []

    def push(writer):
        try:
            start.wait()
            for n in range(pushes):
                db.lists.update_one({"_id": "list"}, {"$push": {"items": [writer, n]}, "$inc": {"count": 1}})
        except Exception as exc:  # reported below, with the writer
            failures.append((writer, exc))

    threads = [threading.Thread(target=push, args=(w,)) for w in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    stored = db.lists.find_one({"_id": "list"})
    assert stored["count"] == len(stored["items"]) == threads_count * pushes
    for writer in range(threads_count):
        assert [n for w, n in stored["items"] if w == writer] == list(range(pushes))


def test_in_process_server_starts_answers_and_stops(monkeypatch):
    server = MongoWireServer()
    port = server.start()
    received, run = [], server.store.run
    monkeypatch.setattr(server.store, "run", lambda db_name, cmd: received.append(cmd) or run(db_name, cmd))
    client = pymongo.MongoClient(server.uri("in_process_test"), serverSelectionTimeoutMS=300)
    try:
        assert port > 0 and server.uri("x") == f"mongodb://127.0.0.1:{port}/x"
        client.get_default_database().things.insert_one({"a": 1})
        assert client.get_default_database().things.find_one({}, {"_id": 0}) == {"a": 1}
        # The handshake came first, and no command carried a session.
        assert "ismaster" in {name.lower() for name in received[0]}
        assert {"insert", "find"} <= {next(iter(cmd)) for cmd in received}
        assert not any("lsid" in cmd for cmd in received)

        server.stop()

        with pytest.raises(ConnectionFailure):
            client.get_default_database().things.find_one({})
    finally:
        client.close()
