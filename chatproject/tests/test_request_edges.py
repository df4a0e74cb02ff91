"""Requests at the edges of HTTP: forwarded addresses, chunked bodies, charsets,
JSON types, floods of errors, writes where no API route is, and the schema's
own errors. Every answer is JSON in the error shape."""

import io
import json
from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD, UserFactory
from chatproject.testing import client_for, error
from chats.models import Chat
from chats.tests.factories import ChatFactory

pytestmark = pytest.mark.django_db

LOGIN = reverse("auth-login")
CREATE = reverse("chats-create-chat")
UPDATE = reverse("chats-update-chat")
ADD = reverse("messages-add-message")
LIST = reverse("chats-list-chats")
GET = reverse("chats-get-chat")
MAX_ERRORS = 20


# --- the auth throttle and forwarding headers -----------------------------


def test_auth_throttle_ignores_x_forwarded_for_by_default(api_client, settings):
    settings.THROTTLE_AUTH_RATE = "3/minute"
    user = UserFactory()
    wrong = {"username": user.username, "password": "wrong"}

    statuses = [api_client.post(LOGIN, wrong, format="json").status_code for _ in range(3)]
    spoofed = [
        api_client.post(LOGIN, wrong, format="json", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
        for n in range(5)
    ]
    right = api_client.post(
        LOGIN, {"username": user.username, "password": PASSWORD}, format="json", HTTP_X_FORWARDED_FOR="203.0.113.99"
    )

    assert statuses == [HTTPStatus.UNAUTHORIZED] * 3
    assert spoofed == [HTTPStatus.TOO_MANY_REQUESTS] * 5
    assert right.status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_auth_throttle_trusts_as_many_proxies_as_configured(api_client, settings):
    settings.THROTTLE_AUTH_RATE = "1/minute"
    settings.NUM_PROXIES = 1
    user = UserFactory()
    wrong = {"username": user.username, "password": "wrong"}

    def login(forwarded_for):
        return api_client.post(LOGIN, wrong, format="json", HTTP_X_FORWARDED_FOR=forwarded_for).status_code

    # The one proxy in front appends the address it saw; whatever the client
    # itself put before it is not trusted.
    assert login("198.51.100.7, 203.0.113.1") == HTTPStatus.UNAUTHORIZED
    assert login("198.51.100.8, 203.0.113.1") == HTTPStatus.TOO_MANY_REQUESTS
    assert login("203.0.113.2") == HTTPStatus.UNAUTHORIZED


# --- chunked request bodies -----------------------------------------------


def chunked_post(client, path, body, *, terminated=True, **extra):
    """A POST as a server hands over a chunked body: no CONTENT_LENGTH, the
    decoded bytes in wsgi.input, and `wsgi.input_terminated` when the server
    (gunicorn) ends that stream at the body's end."""
    environ = {
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": io.BytesIO(body),
        **extra,
    }
    if terminated:
        environ["wsgi.input_terminated"] = True
    return client.generic("POST", path, content_type="application/json", **environ)


def test_chunked_body_is_read_when_the_server_ends_the_stream(auth_client, user):
    response = chunked_post(auth_client, CREATE, json.dumps({"title": "chunked ok"}).encode())

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["title"] == "chunked ok"
    assert list(Chat.objects.filter(owner=user).values_list("title", flat=True)) == ["chunked ok"]


def test_chunked_add_message_is_read(auth_client, user):
    chat = ChatFactory(owner=user)
    body = {"chat_id": str(chat.id), "question": "q", "response": "r"}

    response = chunked_post(auth_client, ADD, json.dumps(body).encode())

    assert response.status_code == HTTPStatus.CREATED
    assert (response.json()["question"], response.json()["response"]) == ("q", "r")


def test_chunked_body_over_the_limit_is_413(auth_client, user, settings):
    body = json.dumps({"title": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)}).encode()

    response = chunked_post(auth_client, CREATE, body)

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json() == error(
        "payload_too_large", f"Request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
    )
    assert not Chat.objects.exists()


def test_chunked_body_a_server_cannot_end_is_refused_with_411(auth_client, user):
    # runserver (wsgiref) passes the raw chunked stream without an end.
    response = chunked_post(auth_client, CREATE, b'{"title": "never read"}', terminated=False)

    assert response.status_code == HTTPStatus.LENGTH_REQUIRED
    assert response["Content-Type"] == "application/json"
    assert response.json() == error(
        "length_required", "A request body needs a Content-Length header; chunked bodies are not accepted here."
    )
    assert not Chat.objects.exists()


# --- JSON types and charsets ----------------------------------------------


def test_numbers_are_not_accepted_as_text(auth_client, user):
    response = auth_client.post(CREATE, {"question": "0", "response": 0}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == error("invalid", "Not a valid string.", "response", "validation_error")
    assert not Chat.objects.exists()


def test_a_number_is_not_a_title(auth_client, user):
    chat = ChatFactory(owner=user, title="kept")

    response = auth_client.put(UPDATE, {"chat_id": str(chat.id), "title": 0}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == error("invalid", "Not a valid string.", "title", "validation_error")
    chat.refresh_from_db()
    assert chat.title == "kept"


@pytest.mark.parametrize("value", [0, 1.5, True, ["a"], {"a": "b"}])
def test_login_fields_must_be_strings(api_client, value):
    response = api_client.post(LOGIN, {"username": value, "password": "x"}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == error("invalid", "Not a valid string.", "username", "validation_error")


def test_a_number_is_not_a_uuid(auth_client, user):
    response = auth_client.put(UPDATE, {"chat_id": 5, "title": "t"}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == error("invalid", "Must be a valid UUID.", "chat_id", "validation_error")


@pytest.mark.parametrize("charset", ["latin-1", "utf-16", "iso-8859-1"])
def test_json_in_another_charset_is_415(auth_client, user, charset):
    response = auth_client.generic(
        "POST", CREATE, b'{"title": "\xff\xfe bad"}', content_type=f"application/json; charset={charset}"
    )

    assert response.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    assert response.json() == error(
        "unsupported_media_type", f'Unsupported charset "{charset}": JSON must be UTF-8.'
    )
    assert not Chat.objects.exists()


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", "utf8"])
def test_json_declared_utf8_is_read(auth_client, user, charset):
    response = auth_client.generic(
        "POST", CREATE, '{"title": "ÿþ ok"}'.encode(), content_type=f"application/json; charset={charset}"
    )

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["title"] == "ÿþ ok"


# --- error amplification ----------------------------------------------------


def test_a_flood_of_unknown_keys_gets_a_bounded_answer(api_client):
    body = {f"k{n}": n for n in range(60_000)}
    body.update(username="someone", password="x")

    response = api_client.post(LOGIN, body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    errors = response.json()["errors"]
    assert len(errors) == MAX_ERRORS
    assert errors[:-1] == [
        {"code": "unknown_field", "detail": "Unknown field.", "attr": f"k{n}"} for n in range(MAX_ERRORS - 1)
    ]
    assert errors[-1] == {
        "code": "too_many_errors",
        "detail": f"Only the first {MAX_ERRORS - 1} errors are listed.",
        "attr": None,
    }
    assert len(response.content) < 3000


def test_exactly_the_maximum_of_errors_is_listed_whole(auth_client, user):
    body = {f"k{n}": n for n in range(MAX_ERRORS)}

    response = auth_client.post(CREATE, body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert [e["attr"] for e in response.json()["errors"]] == [f"k{n}" for n in range(MAX_ERRORS)]


# --- JSON on every edge -----------------------------------------------------


@pytest.fixture
def csrf_client():
    """A plain client enforcing CSRF, as a real server does."""
    return Client(enforce_csrf_checks=True, raise_request_exception=False)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
def test_writes_to_health_are_json_405(csrf_client, method):
    response = getattr(csrf_client, method)("/health")

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response["Content-Type"] == "application/json"
    assert response["Allow"] == "GET, HEAD"
    assert response.json() == error("method_not_allowed", f'Method "{method.upper()}" not allowed.')


def test_head_of_health_still_answers(csrf_client):
    assert csrf_client.head("/health").status_code == HTTPStatus.OK


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writes_to_unknown_api_urls_are_json_404(csrf_client, method):
    response = getattr(csrf_client, method)("/api/v1/no-such-route", "{}", content_type="application/json")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Content-Type"] == "application/json"
    assert response.json() == error("not_found", "Not found.")


def test_trailing_slash_typo_names_the_route(csrf_client):
    response = csrf_client.post(CREATE + "/", "{}", content_type="application/json")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == error("not_found", f"Not found. Did you mean {CREATE} (no trailing slash)?")


def test_csrf_failure_under_api_is_json(csrf_client, settings):
    # Only a route that does not exempt itself can meet the CSRF check; any
    # such failure under /api/ must still answer in the error shape.
    from chatproject.api.views import csrf_failure

    request = Client().get("/api/v1/x").wsgi_request
    response = csrf_failure(request, reason="CSRF cookie not set.")

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert json.loads(response.content) == error("csrf_failed", "CSRF check failed: CSRF cookie not set.")


# --- the schema and the list parameters ------------------------------------


@pytest.mark.parametrize(
    ("query", "headers", "status", "code"),
    [
        ("?format=xml", {}, HTTPStatus.NOT_FOUND, "not_found"),
        ("", {"HTTP_ACCEPT": "text/html"}, HTTPStatus.NOT_ACCEPTABLE, "not_acceptable"),
    ],
)
def test_schema_errors_are_json(query, headers, status, code):
    response = APIClient().get("/api/schema/" + query, **headers)

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert [e["code"] for e in json.loads(response.content)["errors"]] == [code]


def test_schema_itself_is_still_yaml_by_default():
    response = APIClient().get("/api/schema/")

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert response.content.startswith(b"openapi: ")


def test_empty_page_size_is_400_like_an_empty_limit(auth_client, user):
    chat = ChatFactory(owner=user)

    page_size = auth_client.get(LIST, {"page_size": ""})
    limit = auth_client.get(GET, {"chat_id": str(chat.id), "limit": ""})

    assert page_size.status_code == limit.status_code == HTTPStatus.BAD_REQUEST
    assert page_size.json() == error("invalid", "A valid integer is required.", "page_size", "validation_error")
    assert limit.json() == error("invalid", "A valid integer is required.", "limit", "validation_error")


@pytest.mark.parametrize("cursor", ["AAAA", "bz14", "eD0x", "cD0=", "%%%", "cD14"])
def test_forged_cursors_are_400(auth_client, user, cursor):
    ChatFactory(owner=user)

    response = auth_client.get(LIST, {"cursor": cursor})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == error("invalid", "Invalid cursor.", "cursor", "validation_error")


def test_issued_cursors_still_work(user):
    client = client_for(user)
    for n in range(3):
        ChatFactory(owner=user, title=f"c{n}")

    first = client.get(LIST, {"page_size": 2}).json()
    second = client.get(first["next"])
    back = client.get(second.json()["previous"])

    assert second.status_code == HTTPStatus.OK
    assert [c["title"] for c in second.json()["results"]] == ["c0"]
    assert back.status_code == HTTPStatus.OK
    assert [c["title"] for c in back.json()["results"]] == ["c2", "c1"]


def test_the_api_docs_state_the_error_cap(settings):
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()

    assert settings.API_MAX_ERRORS == MAX_ERRORS
    assert f"lists at most {MAX_ERRORS} errors" in schema["info"]["description"]
