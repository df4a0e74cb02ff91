"""Suite-wide fixtures: API clients, users, a clean cache and content store."""

from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from chatproject.settings.cache import redis_cache
from chatproject.testing import client_for
from chats import content_repository
from chats.tests.factories import ChatFactory
from chats.tests.stores import drop_all_content

pytest_plugins = ["generation.tests.model_fixtures", "generation.tests.deployment"]


def pytest_report_header(config):
    database = settings.DATABASES["default"]
    if settings.TEST_USES_POSTGRES:
        test_name = database.get("TEST", {}).get("NAME") or f"test_{database['NAME']}"
        where = f"PostgreSQL {database['HOST']}:{database['PORT']}, database {test_name} (created and dropped by the run)"
    else:
        where = "SQLite in memory"
    if settings.TEST_USES_REDIS:
        cache_where = f"Redis {_without_password(settings.TEST_REDIS_URL)} (flushed before and after every test)"
    else:
        cache_where = "local memory"
    lines = [
        f"database: {where} [{settings.TEST_DATABASE_SOURCE}]",
        f"cache: {cache_where} [{settings.TEST_REDIS_SOURCE}]",
        "content: mongomock (in process)",
        "Choose with DATABASE_URL and REDIS_URL; TEST_ADOPT_LOCAL_SERVICES=0 skips the local servers.",
    ]
    if not (settings.TEST_USES_POSTGRES and settings.TEST_USES_REDIS):
        lines.append(
            "WARNING: PostgreSQL or Redis is not in use; running on the fallback and "
            "skipping the tests that need them. Start them (or set DATABASE_URL/REDIS_URL) "
            "for a full run."
        )
    return lines


def _without_password(url):
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


def pytest_collection_modifyitems(config, items):
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (suite fell back to SQLite)")
    skip_redis = pytest.mark.skip(reason="needs Redis (suite fell back to local memory)")
    skip_mongo = pytest.mark.skip(reason="needs MONGODB_URI naming a MongoDB server")
    real_mongo = settings.REAL_MONGODB_URI.startswith(("mongodb://", "mongodb+srv://"))
    for item in items:
        if "requires_postgres" in item.keywords and not settings.TEST_USES_POSTGRES:
            item.add_marker(skip_pg)
        if "requires_redis" in item.keywords and not settings.TEST_USES_REDIS:
            item.add_marker(skip_redis)
        if "real_mongo" in item.keywords and not real_mongo:
            item.add_marker(skip_mongo)


@pytest.fixture(autouse=True)
def _clean_stores():
    """Each test starts with an empty cache and an empty content store."""
    cache.clear()
    content_repository.connect(settings.MONGODB_URI)
    drop_all_content()
    yield
    cache.clear()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def chat_with_pairs(user):
    """`chat_with_pairs(n)`: a new chat of `user` whose root holds n pairs
    q0/r0 … (made through the services, so both stores agree)."""
    return lambda n: ChatFactory(owner=user, pairs=n)


@pytest.fixture
def chat(request, chat_with_pairs):
    """A chat of `user` with 3 pairs on its root, or n pairs for tests marked
    `chat_pairs(n)` (a module sets it once in `pytestmark`)."""
    marker = request.node.get_closest_marker("chat_pairs")
    return chat_with_pairs(marker.args[0] if marker else 3)


@pytest.fixture
def auth_client(user):
    return client_for(user)


@pytest.fixture
def other_client(other_user):
    return client_for(other_user)


@pytest.fixture
def postgres_down(django_db_blocker):
    """Point the default connection at a closed port, through the real driver."""
    with django_db_blocker.unblock():
        connection.close()
        original = connection.settings_dict["PORT"], connection.settings_dict["HOST"]
        connection.settings_dict["HOST"], connection.settings_dict["PORT"] = "127.0.0.1", "1"
        try:
            yield original
        finally:
            connection.close()
            connection.settings_dict["PORT"], connection.settings_dict["HOST"] = original


@pytest.fixture
def redis_down(settings):
    """Every cache call goes to a Redis that is not there."""
    settings.CACHES = {"default": redis_cache("redis://127.0.0.1:1/0")}


@pytest.fixture
def mongo_down(settings):
    """A real MongoDB driver pointed at a closed local port."""
    content_repository.connect("mongodb://127.0.0.1:1/chat_test?serverSelectionTimeoutMS=500")
    yield
    content_repository.connect(settings.MONGODB_URI)
