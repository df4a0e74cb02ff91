import pytest
from django.db import connection


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
    from chatproject.settings.cache import redis_cache

    settings.CACHES = {"default": redis_cache("redis://127.0.0.1:1/0")}


@pytest.fixture
def mongo_down(settings):
    """A real MongoDB driver pointed at a closed local port."""
    from chats import content_repository

    content_repository.connect("mongodb://127.0.0.1:1/chat_test?serverSelectionTimeoutMS=500")
    yield
    content_repository.connect(settings.MONGODB_URI)
