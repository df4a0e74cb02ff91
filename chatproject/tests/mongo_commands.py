"""The commands of the mongo_wire TEST DOUBLE (see mongo_wire.py), answered
from ONE mongomock store under ONE lock: mongomock is not thread-safe, and one
lock also makes every command atomic, as the content repository's conditional
updates need. Commands arrive and leave as the documents of the wire protocol.

It answers what `chats/content_repository`, MongoEngine and pymongo 4.10 send.
It is not a MongoDB: docs/testing-content-store.md lists where it differs.
"""

import sys
import threading
import traceback

import bson
import mongomock
from bson.codec_options import CodecOptions
from bson.int64 import Int64
from mongomock.filtering import filter_applies
from pymongo.errors import CollectionInvalid, DuplicateKeyError, OperationFailure

# Not decoded further: UUIDs stay Binary subtype 4 (mongomock refuses native
# UUIDs) and datetimes naive UTC (as mongomock stores them). Both go back out
# as the same BSON, so a client decoding with STANDARD/tz_aware gets what it sent.
CODEC = CodecOptions(document_class=dict)
# Handlers read only what they need: `$db` picks the database, and lsid,
# maxTimeMS, $readPreference, writeConcern, $clusterTime … are never looked at.
ALIASES = {"isMaster": "hello", "ismaster": "hello", "buildinfo": "buildInfo", "findandmodify": "findAndModify"}
CODE_NAMES = {8: "UnknownError", 9: "FailedToParse", 26: "NamespaceNotFound", 48: "NamespaceExists"}
CODE_NAMES |= {59: "CommandNotFound", 238: "NotImplemented", 11000: "DuplicateKey"}


def ok(**fields):
    return {**fields, "ok": 1.0}


def failure(code, errmsg):
    return {"ok": 0.0, "errmsg": errmsg, "code": code, **({"codeName": CODE_NAMES[code]} if code in CODE_NAMES else {})}


def error_of(exc):
    """(code, errmsg) for an exception raised while answering."""
    if isinstance(exc, CollectionInvalid):
        return 48, str(exc)
    if isinstance(exc, OperationFailure):
        return exc.code or 8, str(exc)
    if isinstance(exc, NotImplementedError):
        return 238, f"not implemented by the mongomock test double: {exc}"
    traceback.print_exc(file=sys.stderr)  # a bug here or in mongomock: the log gets the trace
    return 8, f"{type(exc).__name__}: {exc}"


def cursor(db, collection, docs, batch="firstBatch"):
    # All in one batch with cursor id 0, so the driver never asks for more.
    return ok(cursor={"id": Int64(0), "ns": f"{db.name}.{collection}", batch: docs})


def pairs(spec):
    return list(spec.items()) if spec else None


def is_replacement(update):
    return isinstance(update, dict) and not any(key.startswith("$") for key in update)


def shown(value):
    if isinstance(value, bson.Binary) and value.subtype == 4:
        return f'UUID("{value.as_uuid()}")'
    return f'"{value}"' if isinstance(value, str) else repr(value)


def nested(doc, path):
    for part in path.split("."):
        doc = doc.get(part) if isinstance(doc, dict) else None
    return doc


def duplicate_key(coll, doc):
    """The write error MongoDB gives, naming the unique index that `doc` hits."""
    where = f"E11000 duplicate key error collection: {coll.full_name}"
    for name, info in coll.index_information().items() if doc is not None else ():
        values = {field: nested(doc, field) for field, _ in info["key"]}
        if (info.get("unique") or name == "_id_") and coll.find_one(values, {"_id": 1}) is not None:
            key = ", ".join(f"{field}: {shown(value)}" for field, value in values.items())
            errmsg = f"{where} index: {name} dup key: {{ {key} }}"
            return {"code": 11000, "errmsg": errmsg, "keyPattern": dict(info["key"]), "keyValue": values}
    return {"code": 11000, "errmsg": where}


def write_batch(cmd, key, coll, apply):
    """Apply each statement (`apply` returns n, nModified and an upserted _id);
    failures become writeErrors, and an ordered batch stops at the first."""
    reply, errors, upserted = ok(n=0, nModified=0), [], []
    for index, statement in enumerate(cmd.get(key, [])):
        try:
            n, modified, new_id = apply(statement)
        except DuplicateKeyError:
            errors.append({"index": index, **duplicate_key(coll, statement if key == "documents" else None)})
        except Exception as exc:  # noqa: BLE001 (every failure goes back to the client)
            code, errmsg = error_of(exc)
            errors.append({"index": index, "code": code, "errmsg": errmsg})
        else:
            reply["n"], reply["nModified"] = reply["n"] + n, reply["nModified"] + modified
            upserted += [] if new_id is None else [{"index": index, "_id": new_id}]
        if errors and cmd.get("ordered", True):
            break
    return reply | ({"writeErrors": errors} if errors else {}) | ({"upserted": upserted} if upserted else {})


class Store:
    """The one mongomock store, the one lock that every command takes, and a
    method for each command (named as on the wire)."""

    COMMANDS = {"hello", "ping", "buildInfo", "find", "getMore", "killCursors", "insert", "update", "delete"}
    COMMANDS |= {"findAndModify", "count", "aggregate", "distinct", "createIndexes", "listIndexes", "dropIndexes"}
    COMMANDS |= {"listCollections", "listDatabases", "create", "drop", "dropDatabase", "endSessions"}

    def __init__(self):
        self.client, self.lock = mongomock.MongoClient(), threading.Lock()

    def run(self, db_name, cmd):
        name = next(iter(cmd), "")
        if ALIASES.get(name, name) not in self.COMMANDS:
            return failure(59, f"no such command: '{name}'")
        if any("collation" in statement for statement in cmd.get("updates", []) + cmd.get("deletes", []) + [cmd]):
            # Ignoring it would quietly compare strings another way than asked.
            return failure(238, "collation is not implemented by the mongomock test double")
        try:
            with self.lock:
                return getattr(self, ALIASES.get(name, name))(self.client[db_name], cmd)
        except DuplicateKeyError:  # from findAndModify or createIndexes; mongomock's message names nothing
            return failure(11000, f"E11000 duplicate key error collection: {db_name}.{cmd[name]}")
        except Exception as exc:  # noqa: BLE001 (every failure goes back to the client)
            return failure(*error_of(exc))

    def hello(self, db, cmd):
        # A standalone without logicalSessionTimeoutMinutes: the driver then
        # sends no sessions (mongomock has none), hence no retryable writes.
        reply = ok(helloOk=True, isWritablePrimary=True, minWireVersion=0, maxWireVersion=21, maxWriteBatchSize=100_000)
        reply |= {"maxBsonObjectSize": 16 * 1024 * 1024, "maxMessageSizeBytes": 48_000_000}
        return reply if "hello" in cmd else {**reply, "ismaster": True}

    def ping(self, db, cmd):
        return ok()

    endSessions = ping

    def buildInfo(self, db, cmd):
        return ok(version="7.0.0", versionArray=[7, 0, 0, 0], gitVersion="mongomock-wire-test-double")

    def find(self, db, cmd):
        options = {"skip": cmd.get("skip", 0), "limit": abs(cmd.get("limit", 0)), "sort": pairs(cmd.get("sort"))}
        docs = db[cmd["find"]].find(cmd.get("filter") or {}, cmd.get("projection") or None, **options)
        return cursor(db, cmd["find"], list(docs))

    def getMore(self, db, cmd):
        return cursor(db, cmd["collection"], [], batch="nextBatch")

    def killCursors(self, db, cmd):
        return ok(cursorsKilled=cmd.get("cursors", []), cursorsNotFound=[], cursorsAlive=[], cursorsUnknown=[])

    def insert(self, db, cmd):
        coll = db[cmd["insert"]]

        def apply(doc):
            coll.insert_one(doc)
            return 1, 0, None

        return write_batch(cmd, "documents", coll, apply)

    def update(self, db, cmd):
        coll = db[cmd["update"]]

        def apply(statement):
            query, change, upsert = statement.get("q") or {}, statement["u"], statement.get("upsert", False)
            if statement.get("arrayFilters") or isinstance(change, list):
                raise NotImplementedError("arrayFilters and pipeline updates")
            if is_replacement(change) and statement.get("multi"):
                raise OperationFailure("multi update is not supported for replacement-style update", 9)
            if is_replacement(change):
                result = coll.replace_one(query, change, upsert=upsert)
            else:
                result = (coll.update_many if statement.get("multi") else coll.update_one)(query, change, upsert=upsert)
            return result.matched_count + (result.upserted_id is not None), result.modified_count, result.upserted_id

        return write_batch(cmd, "updates", coll, apply)

    def delete(self, db, cmd):
        coll = db[cmd["delete"]]

        def apply(statement):
            remove = coll.delete_many if statement.get("limit", 0) == 0 else coll.delete_one
            return remove(statement.get("q") or {}).deleted_count, 0, None

        return write_batch(cmd, "deletes", coll, apply)

    def findAndModify(self, db, cmd):
        # Not mongomock's find_one_and_*, which take a pre-image projected to {}
        # for "no match", drop the query (so `$` fails) once they have the _id,
        # and return no post-image that has stopped matching the query.
        coll, query, change = db[next(iter(cmd.values()))], cmd.get("query") or {}, cmd.get("update")
        fields = cmd.get("fields") or None
        if bool(cmd.get("remove")) == (change is not None) or (cmd.get("remove") and cmd.get("new")):
            return failure(9, "findAndModify takes an update, or remove=true without new=true")
        write = coll.replace_one if is_replacement(change) else coll.update_one
        target = coll.find_one(query, {"_id": 1}, sort=pairs(cmd.get("sort")))
        if target is None and (cmd.get("remove") or not cmd.get("upsert")):
            return ok(value=None, lastErrorObject={"n": 0, "updatedExisting": False})
        if target is None:
            new_id = write(query, change, upsert=True).upserted_id
            value = coll.find_one({"_id": new_id}, fields) if cmd.get("new") else None
            return ok(value=value, lastErrorObject={"n": 1, "updatedExisting": False, "upserted": new_id})
        by_id = {"_id": target["_id"]}
        before = coll.find_one(by_id, fields)
        if cmd.get("remove"):
            coll.delete_one(by_id)
            return ok(value=before, lastErrorObject={"n": 1})
        # The query stays in the filter: mongomock resolves a positional `$` from it.
        write({**query, **by_id} if "_id" not in query else {"$and": [query, by_id]}, change)
        value = coll.find_one(by_id, fields) if cmd.get("new") else before
        return ok(value=value, lastErrorObject={"n": 1, "updatedExisting": True})

    def count(self, db, cmd):
        options = {key: abs(cmd[key]) for key in ("skip", "limit") if cmd.get(key)}
        return ok(n=db[cmd["count"]].count_documents(cmd.get("query") or {}, **options))

    def aggregate(self, db, cmd):
        if not isinstance(cmd["aggregate"], str):
            raise NotImplementedError("database-level aggregate")
        return cursor(db, cmd["aggregate"], list(db[cmd["aggregate"]].aggregate(cmd["pipeline"])))

    def distinct(self, db, cmd):
        return ok(values=db[cmd["distinct"]].distinct(cmd["key"], cmd.get("query") or None))

    def createIndexes(self, db, cmd):
        coll, created = db[cmd["createIndexes"]], cmd["createIndexes"] not in db.list_collection_names()
        before = len(list(coll.list_indexes()))
        for spec in cmd["indexes"]:
            coll.create_index(list(spec["key"].items()), **{k: v for k, v in spec.items() if k not in ("key", "v")})
        after = len(list(coll.list_indexes()))
        return ok(createdCollectionAutomatically=created, numIndexesBefore=before, numIndexesAfter=after)

    def listIndexes(self, db, cmd):
        if cmd["listIndexes"] not in db.list_collection_names():
            return failure(26, f"ns does not exist: {db.name}.{cmd['listIndexes']}")
        return cursor(db, cmd["listIndexes"], list(db[cmd["listIndexes"]].list_indexes()))

    def dropIndexes(self, db, cmd):
        if cmd["dropIndexes"] not in db.list_collection_names():
            return failure(26, f"ns not found {db.name}.{cmd['dropIndexes']}")
        coll, index = db[cmd["dropIndexes"]], cmd["index"]
        was = len(list(coll.list_indexes()))
        if index == "*":
            coll.drop_indexes()
        for one in [] if index == "*" else index if isinstance(index, list) else [index]:
            coll.drop_index(one if isinstance(one, str) else list(one.items()))
        return ok(nIndexesWas=was)

    def listCollections(self, db, cmd):
        names = sorted(db.list_collection_names())
        docs = [{"name": name, "type": "collection", "options": {}, "info": {"readOnly": False}} for name in names]
        docs = [doc for doc in docs if filter_applies(cmd.get("filter") or {}, doc)]
        if cmd.get("nameOnly"):
            docs = [{"name": doc["name"], "type": doc["type"]} for doc in docs]
        return cursor(db, "$cmd.listCollections", docs)

    def listDatabases(self, db, cmd):
        names = db.client.list_database_names()
        return ok(databases=[{"name": name, "sizeOnDisk": 0, "empty": False} for name in names], totalSize=0)

    def create(self, db, cmd):
        db.create_collection(cmd["create"])
        return ok()

    def drop(self, db, cmd):
        # Like MongoDB 7, dropping a collection that is not there is no error.
        was = len(list(db[cmd["drop"]].list_indexes()))
        db.drop_collection(cmd["drop"])
        return ok(ns=f"{db.name}.{cmd['drop']}", nIndexesWas=was)

    def dropDatabase(self, db, cmd):
        db.client.drop_database(db.name)
        return ok(dropped=db.name)
