"""Every error the API can give, in the one documented shape."""

from http import HTTPStatus

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD, UserFactory
from chatproject.testing import client_for, error

ME = reverse("auth-me")
REGISTER = reverse("auth-register")
LOGIN = reverse("auth-login")
LOGOUT = reverse("auth-logout")



@pytest.mark.parametrize("debug", [False, True])
def test_unknown_api_url_is_json_404(api_client, settings, debug):
    settings.DEBUG = debug

    response = api_client.post("/api/v1/no-such-route", {"a": 1}, format="json")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Content-Type"] == "application/json"
    assert response.json() == error("not_found", "Not found.")


def test_unknown_url_outside_the_api_prefix_under_health_is_json_404(api_client):
    response = api_client.get("/health/extra")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == error("not_found", "Not found.")


def test_wrong_method_is_405(auth_client):
    response = auth_client.delete(ME)

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response.json() == error("method_not_allowed", 'Method "DELETE" not allowed.')


def test_malformed_json_is_400(api_client, db):
    response = api_client.post(REGISTER, '{"username": ', content_type="application/json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    body = response.json()
    assert body["type"] == "client_error"
    assert [(e["code"], e["attr"]) for e in body["errors"]] == [("parse_error", None)]
    assert body["errors"][0]["detail"].startswith("JSON parse error")


def test_invalid_utf8_is_400(api_client, db):
    response = api_client.post(REGISTER, b'{"username": "\xff\xfe"}', content_type="application/json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert [e["code"] for e in response.json()["errors"]] == ["parse_error"]


def test_json_that_is_not_an_object_is_400(api_client, db):
    response = api_client.post(REGISTER, "[1, 2]", content_type="application/json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == error(
        "invalid", "Invalid data. Expected a dictionary, but got list.", "non_field_errors", "validation_error"
    )


def test_body_that_is_not_json_is_415(api_client, db):
    response = api_client.post(REGISTER, "username=ada", content_type="application/x-www-form-urlencoded")

    assert response.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    assert response.json() == error(
        "unsupported_media_type", 'Unsupported media type "application/x-www-form-urlencoded" in request.'
    )


def test_body_over_one_mebibyte_is_413(auth_client):
    body = '{"refresh": "' + "x" * (1024 * 1024) + '"}'

    response = auth_client.post(LOGOUT, body, content_type="application/json")

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json() == error("payload_too_large", "Request body is larger than 1048576 bytes.")


def test_body_of_exactly_the_limit_is_parsed(auth_client):
    padding = 1024 * 1024 - len('{"refresh": ""}')
    body = '{"refresh": "' + "x" * padding + '"}'
    assert len(body) == 1024 * 1024

    response = auth_client.post(LOGOUT, body, content_type="application/json")

    # Parsed, then refused for what it says, not for its size.
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"][0]["code"] == "token_not_valid"


def test_auth_routes_are_throttled_with_retry_after(api_client, db, settings):
    settings.THROTTLE_AUTH_RATE = "2/minute"
    user = UserFactory()

    statuses = [
        api_client.post(LOGIN, {"username": user.username, "password": PASSWORD}, format="json").status_code
        for _ in range(3)
    ]

    assert statuses == [HTTPStatus.OK, HTTPStatus.OK, HTTPStatus.TOO_MANY_REQUESTS]
    throttled = api_client.post(REGISTER, {"username": "x", "password": PASSWORD}, format="json")
    assert throttled.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert throttled.json()["type"] == "client_error"
    assert [e["code"] for e in throttled.json()["errors"]] == ["throttled"]


def test_users_are_throttled_per_user(user, other_user, settings):
    settings.THROTTLE_USER_RATE = "2/minute"
    client, other = client_for(user), client_for(other_user)

    statuses = [client.get(ME).status_code for _ in range(3)]

    assert statuses == [HTTPStatus.OK, HTTPStatus.OK, HTTPStatus.TOO_MANY_REQUESTS]
    assert other.get(ME).status_code == HTTPStatus.OK


@pytest.mark.urls("chatproject.tests.boom_urls")
def test_unexpected_failure_is_json_500_without_details():
    response = APIClient(raise_request_exception=False).get("/api/v1/boom")

    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert response.json() == error("error", "Server Error (500)", error_type="server_error")
    assert b"secret" not in response.content


@pytest.mark.requires_postgres
def test_postgres_unreachable_is_503(postgres_down):
    # A 503 is reported like any server error, which the test client would re-raise.
    client = client_for(UserFactory.build(), raise_request_exception=False)

    response = client.get(ME)

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json() == error(
        "service_unavailable", "The database is unavailable. Try again later.", error_type="server_error"
    )


@pytest.mark.requires_postgres
def test_service_recovers_after_postgres_comes_back(postgres_down):
    # A 503 is reported like any server error, which the test client would re-raise.
    client = client_for(UserFactory.build(), raise_request_exception=False)
    assert client.get(ME).status_code == HTTPStatus.SERVICE_UNAVAILABLE

    connection.settings_dict["PORT"], connection.settings_dict["HOST"] = postgres_down
    connection.close()

    # The database answers again: the unknown user is now a 401, not a 503.
    response = client.get(ME)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["errors"][0]["code"] == "user_not_found"


def test_api_keeps_answering_when_redis_is_down(redis_down, api_client, db):
    user = UserFactory()

    login = api_client.post(LOGIN, {"username": user.username, "password": PASSWORD}, format="json")
    me = client_for(user).get(ME)

    assert login.status_code == HTTPStatus.OK
    assert me.status_code == HTTPStatus.OK


def test_throttles_fail_open_when_redis_is_down(redis_down, db, settings):
    settings.THROTTLE_USER_RATE = "1/minute"
    client = client_for(UserFactory())

    statuses = [client.get(ME).status_code for _ in range(3)]

    assert statuses == [HTTPStatus.OK] * 3


def test_options_is_not_a_metadata_page(auth_client):
    response = auth_client.options(ME)

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response.json() == error("method_not_allowed", 'Method "OPTIONS" not allowed.')


def test_cors_preflight_is_answered_for_allowed_origins_only(api_client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://chat.example.com"]
    headers = {"HTTP_ORIGIN": "https://chat.example.com", "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST"}

    allowed = api_client.options(LOGIN, **headers)
    refused = api_client.options(LOGIN, **{**headers, "HTTP_ORIGIN": "https://evil.example.com"})

    assert allowed.status_code == HTTPStatus.OK
    assert allowed["Access-Control-Allow-Origin"] == "https://chat.example.com"
    assert "Access-Control-Allow-Origin" not in refused


def test_deeply_nested_json_is_400(api_client, db):
    response = api_client.post(REGISTER, "[" * 5000 + "]" * 5000, content_type="application/json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == error("parse_error", "JSON parse error - nested too deeply.")


def test_too_many_query_parameters_is_400(auth_client):
    query = "&".join(f"p{i}=1" for i in range(1100))

    response = auth_client.post(f"{LOGOUT}?{query}", {"refresh": "x"}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"][0]["code"] == "parse_error"


def test_unknown_host_is_json_400_under_the_api(api_client, db):
    response = api_client.get(ME, HTTP_HOST="evil.example.com")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == error("bad_request", "Bad request.")
