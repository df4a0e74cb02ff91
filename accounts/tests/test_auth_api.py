"""The auth routes: register, login, refresh, logout, me."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from rest_framework_simplejwt.tokens import AccessToken

from chatproject.testing import error

from .factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

REGISTER = reverse("auth-register")
LOGIN = reverse("auth-login")
REFRESH = reverse("auth-refresh")
LOGOUT = reverse("auth-logout")
ME = reverse("auth-me")



def login(api_client, username, password=PASSWORD):
    return api_client.post(LOGIN, {"username": username, "password": password}, format="json")


def test_register_creates_user_and_returns_it(api_client):
    response = api_client.post(
        REGISTER, {"username": "ada", "password": PASSWORD, "email": "ada@example.com"}, format="json"
    )

    assert response.status_code == HTTPStatus.CREATED
    user = get_user_model().objects.get(username="ada")
    assert response.json() == {"id": str(user.id), "username": "ada", "email": "ada@example.com"}
    assert user.check_password(PASSWORD)


def test_register_without_email_stores_empty_email(api_client):
    response = api_client.post(REGISTER, {"username": "ada", "password": PASSWORD}, format="json")

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["email"] == ""


def test_register_rejects_weak_password_with_validator_codes(api_client):
    response = api_client.post(REGISTER, {"username": "ada", "password": "1234"}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    body = response.json()
    assert body["type"] == "validation_error"
    assert {(e["code"], e["attr"]) for e in body["errors"]} == {
        ("password_too_short", "password"),
        ("password_too_common", "password"),
        ("password_entirely_numeric", "password"),
    }
    assert not get_user_model().objects.filter(username="ada").exists()


def test_register_rejects_password_similar_to_username(api_client):
    response = api_client.post(REGISTER, {"username": "margaretha", "password": "margaretha1"}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert [(e["code"], e["attr"]) for e in response.json()["errors"]] == [("password_too_similar", "password")]


def test_register_rejects_duplicate_username(api_client):
    UserFactory(username="ada")

    response = api_client.post(REGISTER, {"username": "ada", "password": PASSWORD}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == error(
        "unique", "A user with that username already exists.", "username", "validation_error"
    )


def test_register_rejects_missing_and_unknown_fields(api_client):
    response = api_client.post(REGISTER, {"username": "ada", "is_staff": True}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert {(e["code"], e["attr"]) for e in response.json()["errors"]} == {
        ("unknown_field", "is_staff"),
    }
    assert not get_user_model().objects.exists()


def test_register_rejects_missing_password(api_client):
    response = api_client.post(REGISTER, {"username": "ada"}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == error("required", "This field is required.", "password", "validation_error")


def test_register_rejects_read_only_field(api_client):
    response = api_client.post(
        REGISTER, {"username": "ada", "password": PASSWORD, "id": "x"}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == error("unknown_field", "Unknown field.", "id", "validation_error")


def test_login_returns_token_pair_for_the_user(api_client, user):
    response = login(api_client, user.username)

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert AccessToken(body["access"])["user_id"] == str(user.id)


def test_login_with_bad_password_is_401(api_client, user):
    response = login(api_client, user.username, "wrong-password")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == error(
        "no_active_account", "No active account found with the given credentials"
    )


def test_login_of_unknown_user_is_401(api_client, db):
    response = login(api_client, "nobody")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["errors"][0]["code"] == "no_active_account"


def test_login_of_deactivated_user_is_401(api_client, user):
    user.is_active = False
    user.save(update_fields=["is_active"])

    response = login(api_client, user.username)

    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_refresh_rotates_and_old_refresh_token_stops_working(api_client, user):
    first = login(api_client, user.username).json()

    rotated = api_client.post(REFRESH, {"refresh": first["refresh"]}, format="json")
    reused = api_client.post(REFRESH, {"refresh": first["refresh"]}, format="json")

    assert rotated.status_code == HTTPStatus.OK
    assert set(rotated.json()) == {"access", "refresh"}
    assert rotated.json()["refresh"] != first["refresh"]
    assert reused.status_code == HTTPStatus.UNAUTHORIZED
    assert reused.json() == error("token_not_valid", "Token is blacklisted")
    # The rotated token itself still works.
    again = api_client.post(REFRESH, {"refresh": rotated.json()["refresh"]}, format="json")
    assert again.status_code == HTTPStatus.OK


def test_refresh_with_garbage_token_is_401(api_client, db):
    response = api_client.post(REFRESH, {"refresh": "not-a-token"}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == error("token_not_valid", "Token is invalid")


def test_refresh_with_access_token_is_401(api_client, user):
    access = login(api_client, user.username).json()["access"]

    response = api_client.post(REFRESH, {"refresh": access}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == error("token_not_valid", "Token has wrong type")


def test_refresh_for_deactivated_user_is_401(api_client, user):
    refresh = login(api_client, user.username).json()["refresh"]
    user.is_active = False
    user.save(update_fields=["is_active"])

    response = api_client.post(REFRESH, {"refresh": refresh}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["errors"][0]["code"] == "no_active_account"


def test_refresh_for_deleted_user_is_401(api_client, user):
    refresh = login(api_client, user.username).json()["refresh"]
    user.delete()

    response = api_client.post(REFRESH, {"refresh": refresh}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["errors"][0]["code"] == "no_active_account"


def test_logout_blacklists_the_refresh_token(api_client, user):
    tokens = login(api_client, user.username).json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    response = api_client.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json")
    refreshed = api_client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert response.content == b""
    assert refreshed.status_code == HTTPStatus.UNAUTHORIZED
    assert refreshed.json() == error("token_not_valid", "Token is blacklisted")


def test_logout_needs_an_access_token(api_client, user):
    refresh = login(api_client, user.username).json()["refresh"]

    response = api_client.post(LOGOUT, {"refresh": refresh}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == error("not_authenticated", "Authentication credentials were not provided.")


def test_logout_refuses_another_users_refresh_token(auth_client, other_user, api_client):
    other_refresh = login(api_client, other_user.username).json()["refresh"]

    response = auth_client.post(LOGOUT, {"refresh": other_refresh}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == error(
        "token_not_valid", "Token does not belong to this user.", "refresh", "validation_error"
    )
    assert api_client.post(REFRESH, {"refresh": other_refresh}, format="json").status_code == HTTPStatus.OK


def test_me_returns_the_requesting_user(auth_client, user):
    response = auth_client.get(ME)

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"id": str(user.id), "username": user.username, "email": user.email}


def test_me_without_token_is_401_with_www_authenticate(api_client):
    response = api_client.get(ME)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json() == error("not_authenticated", "Authentication credentials were not provided.")


def test_me_with_expired_access_token_is_401(api_client, user):
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = api_client.get(ME)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == error("token_not_valid", "Given token not valid for any token type")


def test_me_with_malformed_token_is_401(api_client, db):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer abc.def.ghi")

    response = api_client.get(ME)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["errors"] == [
        {"code": "token_not_valid", "detail": "Given token not valid for any token type", "attr": None}
    ]


def test_deactivated_users_access_token_is_refused(api_client, user):
    access = login(api_client, user.username).json()["access"]
    user.is_active = False
    user.save(update_fields=["is_active"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")

    response = api_client.get(ME)

    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_token_lifetimes_come_from_settings(api_client, user, settings):
    tokens = login(api_client, user.username).json()
    access = AccessToken(tokens["access"])

    assert access["exp"] - access["iat"] == settings.ACCESS_TOKEN_MINUTES * 60
    from rest_framework_simplejwt.tokens import RefreshToken

    refresh = RefreshToken(tokens["refresh"])
    assert refresh["exp"] - refresh["iat"] == settings.REFRESH_TOKEN_DAYS * 86400


def test_auth_routes_refuse_wrong_method(api_client):
    response = api_client.get(LOGIN)

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response.json() == error("method_not_allowed", 'Method "GET" not allowed.')


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_one_refresh_token_used_twice_at_once_rotates_only_once():
    import threading

    from django.db import connection
    from rest_framework.test import APIClient

    user = UserFactory()
    refresh = login(APIClient(), user.username).json()["refresh"]
    barrier, statuses = threading.Barrier(4), []

    def use_it():
        try:
            barrier.wait()
            statuses.append(APIClient().post(REFRESH, {"refresh": refresh}, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=use_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(statuses) == [HTTPStatus.OK] + [HTTPStatus.UNAUTHORIZED] * 3
