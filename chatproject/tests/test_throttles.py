"""Rate limits: one Redis round trip per check, atomic across processes,
with DRF's limits and Retry-After."""

import threading

import pytest
from django.core.cache import cache
from django_redis import get_redis_connection
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from chatproject.api.throttles import UserThrottle

pytestmark = [pytest.mark.django_db, pytest.mark.requires_redis]


def request_of(user):
    request = APIView().initialize_request(APIRequestFactory().get("/api/v1/chats/list-chats"))
    force_authenticate(request, user=user)
    request.user = user
    return request


def commands():
    stats = get_redis_connection("default").info("commandstats")
    return {name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()}


def test_a_check_is_one_round_trip(user, settings):
    settings.THROTTLE_USER_RATE = "5/minute"
    request = request_of(user)
    UserThrottle().allow_request(request, None)  # the script is loaded
    before = commands()

    allowed = UserThrottle().allow_request(request, None)

    after = commands()
    sent = {name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0)}
    assert allowed is True
    # EVALSHA, plus INFO itself; the commands the script runs are counted too.
    assert sent.pop("evalsha") == 1
    assert set(sent) <= {"info", "zremrangebyscore", "zcard", "zadd", "pexpire", "time"}, sent


def test_concurrent_checks_let_exactly_the_limit_through(user, settings):
    settings.THROTTLE_USER_RATE = "10/minute"
    request, start, results = request_of(user), threading.Barrier(30), []

    def check():
        throttle = UserThrottle()
        start.wait()
        results.append(throttle.allow_request(request, None))

    threads = [threading.Thread(target=check) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [False] * 20 + [True] * 10


def test_retry_after_is_when_the_oldest_request_leaves_the_window(user, settings):
    settings.THROTTLE_USER_RATE = "3/minute"
    request = request_of(user)
    assert [UserThrottle().allow_request(request, None) for _ in range(3)] == [True] * 3

    throttled = UserThrottle()
    assert throttled.allow_request(request, None) is False
    assert 59 < throttled.wait() <= 60
    # The window is a sorted set under the cache's own key.
    key = cache.make_key(f"throttle_user_{user.pk}")
    assert get_redis_connection("default").zcard(key) == 3
