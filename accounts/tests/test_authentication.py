"""Authentication without a database read per request, and what it costs:
a user changed behind the model's back keeps working for up to
AUTH_USER_CACHE_SECONDS; a change through the model takes effect at once."""

import time
from datetime import timedelta
from http import HTTPStatus

import pytest
from rest_framework_simplejwt.tokens import AccessToken

from accounts.authentication import forget_all
from accounts.models import User
from chatproject.testing import client_for

pytestmark = pytest.mark.django_db

ME = "/api/v1/auth/me"


@pytest.fixture(autouse=True)
def fresh_cache():
    forget_all()
    yield
    forget_all()


def test_a_known_user_is_not_read_again(user, django_assert_num_queries):
    client = client_for(user)
    with django_assert_num_queries(1):  # the first request reads the row
        assert client.get(ME).status_code == HTTPStatus.OK

    with django_assert_num_queries(0):
        response = client.get(ME)

    assert (response.status_code, response.json()["username"]) == (HTTPStatus.OK, user.username)


def test_a_user_deactivated_behind_the_models_back_is_refused_within_the_cache_time(user, settings):
    settings.AUTH_USER_CACHE_SECONDS = 0.5
    client = client_for(user)
    assert client.get(ME).status_code == HTTPStatus.OK
    User.objects.filter(pk=user.pk).update(is_active=False)  # no signal: other processes see it like this

    meanwhile = client.get(ME)
    time.sleep(0.6)
    later = client.get(ME)

    assert meanwhile.status_code == HTTPStatus.OK
    assert later.status_code == HTTPStatus.UNAUTHORIZED
    assert later.json()["errors"][0]["code"] in ("user_inactive", "authentication_failed")


@pytest.mark.parametrize("change", ["deactivate", "delete"])
def test_a_change_through_the_model_takes_effect_at_once(user, change):
    client = client_for(user)
    assert client.get(ME).status_code == HTTPStatus.OK

    if change == "deactivate":
        user.is_active = False
        user.save(update_fields=["is_active"])
    else:
        user.delete()
    response = client.get(ME)

    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_a_token_checked_once_still_expires_on_time(user, api_client):
    token = AccessToken.for_user(user)
    # `exp` is in whole seconds, so a one-second lifetime may leave almost
    # nothing of it (it failed once in CI on a busy machine): two leave one.
    token.set_exp(lifetime=timedelta(seconds=2))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api_client.get(ME).status_code == HTTPStatus.OK
    assert api_client.get(ME).status_code == HTTPStatus.OK  # from the process's memory

    time.sleep(max(0.0, token["exp"] - time.time()) + 0.05)
    expired = api_client.get(ME)

    assert expired.status_code == HTTPStatus.UNAUTHORIZED
    assert expired.json()["errors"][0]["code"] == "token_not_valid"


def test_a_token_with_a_forged_signature_is_refused_even_after_the_real_one_was_used(user, api_client):
    token = str(AccessToken.for_user(user))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api_client.get(ME).status_code == HTTPStatus.OK

    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")

    assert api_client.get(ME).status_code == HTTPStatus.UNAUTHORIZED
