"""The connection to MongoDB and the budget of every call.

The client is registered lazily (`connect=False`), so forked gunicorn workers
each open their own. Every call to the store goes through `store_call()`: it
counts the call (tests assert call budgets with `calls()`, the benchmark
reports it), bounds it by one time budget, retries included, and turns "the
server cannot be reached" into `ContentStoreUnavailable` (503). With the
in-process stand-in (mongomock), which is not thread-safe, it serialises the
calls instead.
"""

import contextlib
import logging
import threading

import mongoengine
import mongomock
import pymongo
from django.conf import settings
from mongoengine.connection import DEFAULT_CONNECTION_NAME, get_connection, get_db
from pymongo.collection import Collection
from pymongo.errors import ConnectionFailure, PyMongoError

from chatproject.errors import ContentStoreUnavailable

from .documents import ContentBucket

logger = logging.getLogger(__name__)

MOCK_SCHEME = "mongomock://"

# mongomock is not thread-safe; with it in use every call takes this lock.
_mock_lock = threading.RLock()
_state = {"ephemeral": False, "calls": 0, "timeout": None}
_calls_lock = threading.Lock()


def connect(uri: str | None = None) -> None:
    """Register the connection named by `uri` (default: the MONGODB_URI
    setting); `mongomock://host/db` selects the in-process stand-in."""
    uri = uri or settings.MONGODB_URI
    mongoengine.disconnect(alias=DEFAULT_CONNECTION_NAME)
    # Times come back naive (UTC) and the repository makes them aware where it
    # reads them (`buckets.utc`): with `tz_aware`, mongomock walks every value
    # of every document it returns to set a time zone, half its cost of a
    # 100-pair page (0.78 -> 0.42 ms here); a server's driver does it in C
    # either way.
    options = {"uuidRepresentation": "standard", "tz_aware": False, "connect": False}
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


def is_ephemeral() -> bool:
    """True when content lives in the in-process stand-in and dies with it."""
    return _state["ephemeral"]


def database_name() -> str:
    return get_db().name


def calls() -> int:
    """How many store calls this process has made."""
    return _state["calls"]


@contextlib.contextmanager
def store_call():
    """Wrap one call to the store (see the module's docstring)."""
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


def collection() -> Collection:
    """The `chat_content` collection, for the modules of this package."""
    return ContentBucket._get_collection()


def ping() -> None:
    """Round trip to the server; raises ContentStoreUnavailable when it is down."""
    with store_call():
        get_db().command("ping")
