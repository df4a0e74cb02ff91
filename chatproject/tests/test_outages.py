"""Store outages seen from the API: MongoDB and PostgreSQL unreachable answer
503 quickly and change nothing; Redis unreachable changes nothing a client can
see; each recovers without a restart."""

import time
from http import HTTPStatus

import pytest
from django.core.cache import cache
from django.urls import reverse

from chatproject.testing import client_for
from chats import content_repository
from chats.tests.stores import stores_snapshot

pytestmark = [pytest.mark.django_db, pytest.mark.chat_pairs(2)]

TIMEOUT_S = 0.5  # serverSelectionTimeoutMS=500 in the mongo_down fixture's URI


@pytest.mark.parametrize(
    ("route", "method", "extra"),
    [
        ("chats-get-chat", "get", {}),
        ("messages-get-messages", "get", {}),
        ("messages-add-message", "post", {"question": "q", "response": "r"}),
        ("chats-create-chat", "post", {"question": "q", "response": "r"}),
        ("branches-create-branch", "post", {"response_id": None, "question": "q", "response": "r"}),
        ("chats-delete-chat", "delete", {}),
    ],
)
def test_mongodb_unreachable_is_503_within_the_timeout_and_changes_nothing(user, chat, mongo_down, route, method, extra):
    client = client_for(user, raise_request_exception=False)
    body = {"chat_id": str(chat.id), **extra} if route != "chats-create-chat" else extra
    before = stores_snapshot(content=False)

    started = time.monotonic()
    if method == "get":
        response = client.get(reverse(route), body)
    else:
        response = getattr(client, method)(reverse(route), body, format="json")
    elapsed = time.monotonic() - started

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["errors"][0]["code"] == "service_unavailable"
    assert elapsed < TIMEOUT_S + 0.5
    assert stores_snapshot(content=False) == before


def test_routes_that_need_only_postgres_keep_working_while_mongodb_is_down(user, chat, mongo_down):
    client = client_for(user)

    responses = [
        client.get(reverse("branches-get-branches"), {"chat_id": str(chat.id)}),
        client.get(reverse("chats-list-chats")),
        client.put(reverse("chats-update-chat"), {"chat_id": str(chat.id), "title": "still works"}, format="json"),
    ]

    assert [r.status_code for r in responses] == [HTTPStatus.OK] * 3


@pytest.mark.requires_redis
def test_redis_outage_ends_and_caching_resumes_without_restart(user, chat, settings):
    client = client_for(user)
    url, params = reverse("chats-get-chat"), {"chat_id": str(chat.id)}
    working = settings.CACHES
    from chatproject.settings.cache import redis_cache

    settings.CACHES = {"default": redis_cache("redis://127.0.0.1:1/0")}
    during = client.get(url, params)
    settings.CACHES = working
    cache.clear()
    client.get(url, params)
    calls = content_repository.calls()
    after = client.get(url, params)

    assert during.status_code == after.status_code == HTTPStatus.OK
    assert content_repository.calls() == calls  # served from Redis again


def test_health_reports_each_outage_and_recovery(mongo_down, settings):
    from rest_framework.test import APIClient

    client = APIClient(raise_request_exception=False)
    down = client.get("/health").json()
    content_repository.connect(settings.MONGODB_URI)
    up = client.get("/health").json()

    assert (down["status"], down["checks"]["mongodb"]) == ("down", "down")
    # Back on the suite's stand-in, which /health names as such.
    assert (up["status"], up["checks"]["mongomock"]) == ("ok", "ok")
