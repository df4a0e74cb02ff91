"""What a request costs besides its wall time: time spent in each store, and,
in a separate counting pass, how many calls it made and how many bytes it moved.

Timing probes (cheap, on for every timed sample): every public function of the
content repository and every SQL statement are timed. Counting probes (dearer,
only in the counting pass, never while timing): SQL through Django's
`CaptureQueriesContext`, MongoDB calls through `content_repository.calls()`,
and bytes through a proxy around the repository's collection. Two byte counts:
`mongo_kb` is what crossed the driver to the application (BSON size of the
documents and commands), what a MongoDB server would have sent; `mock_kb` is
what mongomock copied to answer, which on a server the indexes would spare.
"""

import contextlib
import functools
import inspect
import time

import bson
import mongomock.collection
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chats import content_repository


class Clock:
    """Seconds spent in the content store and in SQL since the last reset."""

    def __init__(self):
        self.store = 0.0
        self.sql = 0.0
        self._depth = 0

    def reset(self):
        self.store = self.sql = 0.0


CLOCK = Clock()


def _timed_store_function(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if CLOCK._depth:
            return fn(*args, **kwargs)
        CLOCK._depth += 1
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            CLOCK.store += time.perf_counter() - started
            CLOCK._depth -= 1

    wrapper.__bench_original__ = fn
    return wrapper


def _sql_timer(execute, sql, params, many, context):
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        CLOCK.sql += time.perf_counter() - started


@contextlib.contextmanager
def timing_probes():
    """Time the content repository's public functions and every SQL statement."""
    patched = []
    for name, fn in list(vars(content_repository).items()):
        if not inspect.isfunction(fn) or not fn.__module__.startswith(content_repository.__name__ + "."):
            continue
        if name in {"calls", "connect", "is_ephemeral", "database_name"}:
            continue
        setattr(content_repository, name, _timed_store_function(fn))
        patched.append((name, fn))
    try:
        with connection.execute_wrapper(_sql_timer):
            yield CLOCK
    finally:
        for name, fn in patched:
            setattr(content_repository, name, fn)


def _size(value):
    if value is None:
        return 0
    if isinstance(value, list):
        return sum(_size(v) for v in value)
    try:
        return len(bson.encode(value))
    except Exception:  # not a document: count nothing rather than fail the run
        return 0


class Bytes:
    def __init__(self):
        self.to_app = 0
        self.from_app = 0
        self.mock_copied = 0


class _CountingCursor:
    def __init__(self, cursor, counts):
        self._cursor, self._counts = cursor, counts

    def sort(self, *args, **kwargs):
        self._cursor = self._cursor.sort(*args, **kwargs)
        return self

    def batch_size(self, *args, **kwargs):
        self._cursor = self._cursor.batch_size(*args, **kwargs)
        return self

    def limit(self, *args, **kwargs):
        self._cursor = self._cursor.limit(*args, **kwargs)
        return self

    def skip(self, *args, **kwargs):
        self._cursor = self._cursor.skip(*args, **kwargs)
        return self

    def __iter__(self):
        return self

    def __next__(self):
        doc = next(self._cursor)
        self._counts.to_app += _size(doc)
        return doc

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        close = getattr(self._cursor, "close", None)
        if close:
            close()

    def __getattr__(self, name):
        return getattr(self._cursor, name)


class _CountingCollection:
    """The repository's collection, counting the bytes each call moves."""

    def __init__(self, collection, counts):
        self._collection, self._counts = collection, counts

    def find(self, *args, **kwargs):
        self._counts.from_app += _size(args[:1] and args[0])
        return _CountingCursor(self._collection.find(*args, **kwargs), self._counts)

    def _returning(self, name, *args, **kwargs):
        self._counts.from_app += sum(_size(a) for a in args if isinstance(a, dict))
        result = getattr(self._collection, name)(*args, **kwargs)
        self._counts.to_app += _size(result) if isinstance(result, dict) else 0
        return result

    def find_one(self, *args, **kwargs):
        return self._returning("find_one", *args, **kwargs)

    def find_one_and_update(self, *args, **kwargs):
        return self._returning("find_one_and_update", *args, **kwargs)

    def update_one(self, *args, **kwargs):
        return self._returning("update_one", *args, **kwargs)

    def update_many(self, *args, **kwargs):
        return self._returning("update_many", *args, **kwargs)

    def insert_one(self, *args, **kwargs):
        return self._returning("insert_one", *args, **kwargs)

    def delete_many(self, *args, **kwargs):
        return self._returning("delete_many", *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._collection, name)


@contextlib.contextmanager
def counting_probes():
    """Yields a dict filled on exit with sql, sql_text, mongo, mongo_kb, mock_kb."""
    counts, result = Bytes(), {}
    store = content_repository.connection
    original_buckets = store.collection
    original_copy = mongomock.collection.Collection._copy_only_fields

    def copy_only_fields(self, doc, fields, container):
        copied = original_copy(self, doc, fields, container)
        counts.mock_copied += _size(copied)
        return copied

    store.collection = lambda: _CountingCollection(original_buckets(), counts)
    mongomock.collection.Collection._copy_only_fields = copy_only_fields
    calls = content_repository.calls()
    try:
        with CaptureQueriesContext(connection) as queries:
            yield result
    finally:
        store.collection = original_buckets
        mongomock.collection.Collection._copy_only_fields = original_copy
    result.update(
        sql=len(queries.captured_queries),
        sql_text=[q["sql"] for q in queries.captured_queries],
        mongo=content_repository.calls() - calls,
        mongo_kb=(counts.to_app + counts.from_app) / 1024,
        mock_kb=counts.mock_copied / 1024,
    )
