"""`GET /health` with every store up, and with each one down. The suite's content
store is mongomock, reported as such; a real driver is reported as `mongodb`."""

import time
from http import HTTPStatus

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def get_health():
    # A 503 is reported like any server error, which the test client would re-raise.
    return APIClient(raise_request_exception=False).get("/health")


def test_health_is_ok_when_every_store_answers():
    response = get_health()

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "status": "ok",
        "checks": {"postgres": "ok", "mongomock": "ok", "redis": "ok", "model": "off"},
    }


def test_health_needs_no_token_and_is_never_cached():
    response = get_health()

    assert response.status_code == HTTPStatus.OK
    assert "no-cache" in response["Cache-Control"]


def test_health_is_down_within_the_timeout_when_mongodb_is_unreachable(mongo_down):
    started = time.monotonic()
    response = get_health()
    elapsed = time.monotonic() - started

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json() == {
        "status": "down",
        "checks": {"postgres": "ok", "mongodb": "down", "redis": "ok", "model": "off"},
    }
    # serverSelectionTimeoutMS=500 in the URI, plus slack for the machine.
    assert elapsed < 2.0


@pytest.mark.requires_redis
def test_health_is_degraded_when_redis_is_unreachable(redis_down):
    response = get_health()

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "status": "degraded",
        "checks": {"postgres": "ok", "mongomock": "ok", "redis": "down", "model": "off"},
    }


@pytest.mark.requires_postgres
def test_health_is_down_when_postgres_is_unreachable(postgres_down):
    response = get_health()

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json() == {
        "status": "down",
        "checks": {"postgres": "down", "mongomock": "ok", "redis": "ok", "model": "off"},
    }


def test_a_model_that_is_down_makes_health_degraded_not_down(client, openai_provider, settings, model_proxy):
    model_proxy.mode = "closed"
    settings.LLM_BASE_URL = model_proxy.url

    response = client.get("/health")

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["model"] == "down"


def test_a_model_that_answers_is_ok(client, openai_provider):
    response = client.get("/health")

    assert (response.status_code, response.json()["checks"]["model"]) == (200, "ok")
