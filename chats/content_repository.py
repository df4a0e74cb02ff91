"""The content repository: the only code that talks to MongoDB.

Every other module reads and writes question/response pairs through the
functions here. Driver errors that mean "MongoDB is unreachable" leave this
module as `ContentStoreUnavailable` (503), whatever the call.
"""

import contextlib
import logging
import threading

import mongoengine
import mongomock
from django.conf import settings
from mongoengine.connection import DEFAULT_CONNECTION_NAME, get_db
from pymongo.errors import ConnectionFailure

from chatproject.api.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

MOCK_SCHEME = "mongomock://"


class ContentStoreUnavailable(ServiceUnavailable):
    default_detail = "The content store is unavailable. Try again later."


# mongomock is not thread-safe; with it in use every call takes this lock.
_mock_lock = threading.RLock()
_state = {"ephemeral": False}


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
        return
    _state["ephemeral"] = False
    if "serverselectiontimeoutms" not in uri.lower():
        options["serverSelectionTimeoutMS"] = settings.MONGODB_SERVER_SELECTION_TIMEOUT_MS
    mongoengine.connect(host=uri, **options)


def disconnect():
    mongoengine.disconnect(alias=DEFAULT_CONNECTION_NAME)


def is_ephemeral():
    """True when content lives in the in-process stand-in and dies with it."""
    return _state["ephemeral"]


def database_name():
    return get_db().name


@contextlib.contextmanager
def _store_call():
    lock = _mock_lock if _state["ephemeral"] else contextlib.nullcontext()
    with lock:
        try:
            yield
        except ConnectionFailure as exc:
            logger.warning("MongoDB unavailable: %s", exc)
            raise ContentStoreUnavailable() from exc


def ping():
    """Round trip to the server; raises ContentStoreUnavailable when it is down."""
    with _store_call():
        get_db().command("ping")


def drop_all_content():
    """Empty the content database: for test set-up only, hence the guard."""
    with _store_call():
        db = get_db()
        if "test" not in db.name:
            raise RuntimeError(f"refusing to drop content of non-test database {db.name!r}")
        for name in db.list_collection_names():
            db.drop_collection(name)
