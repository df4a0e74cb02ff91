"""Cached reads: read-your-writes, isolation between users, Redis down, and
the query budget of get-chat."""

import json
from http import HTTPStatus

import pytest
from django.core.cache import cache

from chatproject.testing import client_for
from chats import content_repository
from chats.models import Chat

from branches.tests.routes import GET_BRANCHES

from .factories import ChatFactory
from .routes import ADD, DELETE, GET, MESSAGES, UPDATE

pytestmark = pytest.mark.django_db


def get_chat(client, chat, **params):
    return client.get(GET, {"chat_id": str(chat.id), **params})


def test_get_chat_is_served_from_the_cache_the_second_time(auth_client, chat, django_assert_max_num_queries):
    first = get_chat(auth_client, chat).json()
    calls = content_repository.calls()

    # The one query left is authentication's (the user row).
    with django_assert_max_num_queries(1):
        second = get_chat(auth_client, chat).json()

    assert second == first
    assert content_repository.calls() == calls


def test_uncached_get_chat_makes_a_constant_number_of_queries(
    auth_client, user, settings, django_assert_max_num_queries
):
    settings.CONTENT_BUCKET_SIZE = 10
    short, long = ChatFactory(owner=user, pairs=10), ChatFactory(owner=user, pairs=300)
    costs = []
    for chat in (short, long):
        cache.clear()
        calls = content_repository.calls()
        # Authentication, then the chat with its branches (one join).
        with django_assert_max_num_queries(2):
            response = get_chat(auth_client, chat, limit=5)
        assert response.status_code == HTTPStatus.OK
        costs.append(content_repository.calls() - calls)

    assert costs == [1, 1]


def test_get_chat_reflects_each_write_at_once(auth_client, chat):
    assert get_chat(auth_client, chat).json()["title"] == "A chat"

    auth_client.put(UPDATE, {"chat_id": str(chat.id), "title": "Renamed"}, format="json")
    assert get_chat(auth_client, chat).json()["title"] == "Renamed"

    auth_client.post(ADD, {"chat_id": str(chat.id), "question": "new", "response": "pair"}, format="json")
    page = get_chat(auth_client, chat).json()
    assert [m["question"] for m in page["messages"]][-1] == "new"
    assert auth_client.get(MESSAGES, {"chat_id": str(chat.id)}).json()["messages"][-1]["question"] == "new"

    auth_client.delete(DELETE, {"chat_id": str(chat.id)}, format="json")
    assert get_chat(auth_client, chat).status_code == HTTPStatus.NOT_FOUND


def test_a_cached_page_is_never_served_to_another_user(auth_client, other_client, chat):
    assert get_chat(auth_client, chat).status_code == HTTPStatus.OK

    response = get_chat(other_client, chat)

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_moderation_through_the_service_path_invalidates_too(auth_client, chat):
    from chatproject.cache import bump_chat

    get_chat(auth_client, chat)
    Chat.objects.filter(pk=chat.pk).update(hidden=True)
    bump_chat(chat.id)

    assert get_chat(auth_client, chat).status_code == HTTPStatus.NOT_FOUND


@pytest.mark.requires_redis
def test_reads_and_writes_work_with_redis_down(redis_down, user, chat):
    client = client_for(user)

    first = get_chat(client, chat)
    client.post(ADD, {"chat_id": str(chat.id), "question": "new", "response": "pair"}, format="json")
    second = get_chat(client, chat)

    assert first.status_code == second.status_code == HTTPStatus.OK
    assert len(second.json()["messages"]) == len(first.json()["messages"]) + 1


@pytest.mark.requires_redis
def test_a_write_deletes_the_chats_cached_reads_and_a_stale_entry_is_never_served(auth_client, user, chat):
    from django_redis import get_redis_connection

    redis = get_redis_connection("default")
    first = get_chat(auth_client, chat).json()
    auth_client.get(MESSAGES, {"chat_id": str(chat.id)})
    entries = redis.smembers(cache.make_key(f"chat:{chat.id}:entries"))
    assert len(entries) == 2 and all(redis.exists(key) for key in entries)

    auth_client.post(ADD, {"chat_id": str(chat.id), "question": "new", "response": "pair"}, format="json")

    # Gone with the write: the read after it fetches nothing to throw away.
    assert not any(redis.exists(key) for key in entries)
    assert not redis.exists(cache.make_key(f"chat:{chat.id}:entries"))
    second = get_chat(auth_client, chat).json()
    assert second["messages"][-1]["question"] == "new"
    # An entry computed under an older version (a slower read storing it
    # after the write) is not served.
    [entry_key] = redis.smembers(cache.make_key(f"chat:{chat.id}:entries"))
    redis.set(entry_key, b"1:" + json.dumps(first).encode())
    calls = content_repository.calls()
    assert get_chat(auth_client, chat).json() == second
    assert content_repository.calls() == calls + 1


@pytest.fixture
def redis_round_trips(monkeypatch):
    """How many times the process wrote to Redis (a pipeline is one): a spy
    on redis-py's connection, which it leaves to do its work."""
    import redis.connection

    sent = []
    original = redis.connection.AbstractConnection.send_packed_command

    def counted(self, command, check_health=True):
        sent.append(command)
        return original(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counted)
    return sent


@pytest.mark.requires_redis
@pytest.mark.parametrize("route", [GET, MESSAGES, GET_BRANCHES])
def test_a_cached_read_is_one_redis_round_trip_the_rate_limits(auth_client, chat, route, redis_round_trips):
    first = auth_client.get(route, {"chat_id": str(chat.id)})
    redis_round_trips.clear()

    second = auth_client.get(route, {"chat_id": str(chat.id)})

    assert second.status_code == first.status_code == HTTPStatus.OK
    assert second.content == first.content
    # The rate limit's script, which reads the chat's version and the entry too.
    assert len(redis_round_trips) == 1


@pytest.mark.requires_redis
def test_a_read_after_a_write_is_two_round_trips_and_sees_the_write(auth_client, chat, redis_round_trips):
    get_chat(auth_client, chat)
    auth_client.post(ADD, {"chat_id": str(chat.id), "question": "new", "response": "pair"}, format="json")
    redis_round_trips.clear()

    answer = get_chat(auth_client, chat)

    assert answer.json()["messages"][-1]["question"] == "new"
    # The rate limit with the lookup (a miss), then the entry stored.
    assert len(redis_round_trips) == 2


@pytest.mark.requires_redis
def test_a_computed_page_is_stored_only_once_its_response_is_sent(user, chat, redis_round_trips):
    """As a WSGI server serves: it writes what the application returned, then
    closes it. The client has its page before the copy for the next read
    is stored."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections
    from django.test import RequestFactory
    from rest_framework_simplejwt.tokens import AccessToken

    request = RequestFactory().get(GET, {"chat_id": str(chat.id)}, HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    statuses = []
    # As the test client does: the test's database connection stays open.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        served = WSGIHandler()(request.environ, lambda status, headers: statuses.append(status))
        sent = b"".join(served)

        assert statuses == ["200 OK"]
        assert json.loads(sent)["chat_id"] == str(chat.id)
        assert len(redis_round_trips) == 1  # the rate limit, with the lookup that missed
        served.close()
        assert len(redis_round_trips) == 2  # the entry, stored
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    redis_round_trips.clear()
    again = client_for(user).get(GET, {"chat_id": str(chat.id)})
    assert again.content == sent
    assert len(redis_round_trips) == 1  # a hit, in the rate limit's round trip


@pytest.mark.requires_redis
def test_a_read_with_a_body_or_bad_input_still_looks_up_its_entry_after_the_rate_limit(auth_client, chat, redis_round_trips):
    get_chat(auth_client, chat)
    redis_round_trips.clear()

    with_body = auth_client.generic("GET", GET, json.dumps({"chat_id": str(chat.id)}), content_type="application/json")
    bad = auth_client.get(GET, {"chat_id": str(chat.id), "limit": "many"})

    assert with_body.status_code == HTTPStatus.OK
    assert with_body.json() == get_chat(auth_client, chat).json()
    assert bad.status_code == HTTPStatus.BAD_REQUEST
    assert [e["attr"] for e in bad.json()["errors"]] == ["limit"]
    # The body's read: the rate limit, then its own lookup (a hit); the bad
    # one: the rate limit only; the last read: one.
    assert len(redis_round_trips) == 4


@pytest.mark.requires_redis
def test_a_cached_read_after_redis_lost_its_scripts_loads_the_rate_limits_again(auth_client, chat):
    from django_redis import get_redis_connection

    redis = get_redis_connection("default")
    first = get_chat(auth_client, chat)
    window = cache.make_key(f"throttle_user_{chat.owner_id}")
    counted = redis.zcard(window)
    redis.script_flush()  # as after a restart

    again = get_chat(auth_client, chat)

    assert again.status_code == HTTPStatus.OK
    assert again.content == first.content
    assert redis.zcard(window) == counted + 1  # the request was counted, not let through unchecked


@pytest.mark.requires_redis
def test_a_client_over_its_limit_does_not_pull_its_cached_page_with_each_refusal(
    auth_client, chat, settings, redis_round_trips
):
    settings.THROTTLE_USER_RATE = "2/minute"
    assert get_chat(auth_client, chat).status_code == HTTPStatus.OK
    assert get_chat(auth_client, chat).status_code == HTTPStatus.OK  # cached now
    redis_round_trips.clear()

    refused = [get_chat(auth_client, chat) for _ in range(3)]

    assert [r.status_code for r in refused] == [HTTPStatus.TOO_MANY_REQUESTS] * 3
    sent = [b"".join(command) if isinstance(command, list) else command for command in redis_round_trips]
    # The first refusal finds the window full (its lookup went with it); the
    # next ones, in this process, send the rate limit's script alone.
    assert [b"MGET" in command for command in sent] == [True, False, False]
