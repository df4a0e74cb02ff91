"""Hostile input on every write route: each answer is a 4xx in the error
shape, and nothing is stored."""

import json
from http import HTTPStatus

import pytest
from django.urls import reverse
from rest_framework_simplejwt.tokens import RefreshToken

from branches import services as branch_services
from chats import content_repository
from chats.tests.factories import ChatFactory
from chats.tests.stores import stores_snapshot

pytestmark = pytest.mark.django_db

UUID_FIELDS = {"chat_id", "branch_id", "response_id"}
TEXT_LIMITS = {"title": 200, "name": 200, "question": 100_000, "response": 100_000}
# Fields a route may go without (leaving them out is no error).
OPTIONAL = {
    "chats-create-chat": {"title"},
    "messages-add-message": {"branch_id"},
    "branches-create-branch": {"name"},
    "branches-delete-branch": {"cascade"},
}


@pytest.fixture
def world(user):
    """A chat with pairs and a second branch, and a valid body for each write route."""
    chat = ChatFactory(owner=user, pairs=2)
    first = content_repository.read_all_pairs(chat_id=chat.id, branch_id=chat.active_branch_id)[0]
    branch, _ = branch_services.branch_create(user=user, chat_id=chat.id, response_id=first.response_id, activate=False)
    ids = {"chat_id": str(chat.id), "branch_id": str(branch.id)}
    refresh = str(RefreshToken.for_user(user))
    return {
        "auth-register": ("post", {"username": "newcomer", "password": "correct-horse-battery-staple"}),
        "auth-login": ("post", {"username": user.username, "password": "wrong-anyway"}),
        "auth-refresh": ("post", {"refresh": refresh}),
        "auth-logout": ("post", {"refresh": refresh}),
        "chats-create-chat": ("post", {"title": "t", "question": "q", "response": "r"}),
        "chats-update-chat": ("put", {"chat_id": ids["chat_id"], "title": "t"}),
        "chats-delete-chat": ("delete", {"chat_id": ids["chat_id"]}),
        "messages-add-message": ("post", {**ids, "question": "q", "response": "r"}),
        "branches-create-branch": (
            "post",
            {"chat_id": ids["chat_id"], "response_id": first.response_id, "name": "n", "question": "q", "response": "r"},
        ),
        "branches-set-active-branch": ("put", ids),
        "branches-rename-branch": ("put", {**ids, "name": "n"}),
        "branches-delete-branch": ("delete", {**ids, "cascade": True}),
    }


WRITE_ROUTES = [
    "auth-register", "auth-login", "auth-refresh", "auth-logout", "chats-create-chat", "chats-update-chat",
    "chats-delete-chat", "messages-add-message", "branches-create-branch", "branches-set-active-branch",
    "branches-rename-branch", "branches-delete-branch",
]


def hostile_bodies(body, optional):
    """(label, raw bytes, content type, expected status) for one valid body."""
    as_json = json.dumps(body).encode()
    yield "not json content type", b"title=x", "application/x-www-form-urlencoded", HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    yield "malformed json", as_json[:-1], "application/json", HTTPStatus.BAD_REQUEST
    yield "invalid utf-8", b'{"title": "\xff\xfe\xfd"}', "application/json", HTTPStatus.BAD_REQUEST
    yield "json array", json.dumps([body]).encode(), "application/json", HTTPStatus.BAD_REQUEST
    yield "json string", b'"hello"', "application/json", HTTPStatus.BAD_REQUEST
    yield "unknown field", json.dumps({**body, "is_admin": True}).encode(), "application/json", HTTPStatus.BAD_REQUEST
    big = json.dumps({**body, "padding": "x" * (1024 * 1024)}).encode()
    yield "1 MiB + 1 body", big, "application/json", HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    for field, value in body.items():
        rest = {k: v for k, v in body.items() if k != field}
        if field not in optional:
            yield f"missing {field}", json.dumps(rest).encode(), "application/json", HTTPStatus.BAD_REQUEST
        if isinstance(value, str):
            yield f"{field} as object", json.dumps({**rest, field: {"$gt": ""}}).encode(), "application/json", HTTPStatus.BAD_REQUEST
        if field in UUID_FIELDS:
            yield f"malformed {field}", json.dumps({**rest, field: "1' OR '1'='1"}).encode(), "application/json", HTTPStatus.BAD_REQUEST
        if field in TEXT_LIMITS:
            long = "x" * (TEXT_LIMITS[field] + 1)
            yield f"{field} too long", json.dumps({**rest, field: long}).encode(), "application/json", HTTPStatus.BAD_REQUEST
            lone = json.dumps({**rest, field: "a \ud800 b"}).encode()  # escaped in JSON: "\\ud800"
            yield f"{field} with a lone surrogate", lone, "application/json", HTTPStatus.BAD_REQUEST
        if isinstance(value, bool):
            yield f"{field} not a boolean", json.dumps({**rest, field: "sometimes"}).encode(), "application/json", HTTPStatus.BAD_REQUEST


@pytest.mark.parametrize("route", WRITE_ROUTES)
def test_hostile_bodies_are_4xx_in_the_error_shape_and_store_nothing(route, world, auth_client):
    method, body = world[route]
    url = reverse(route)
    before = stores_snapshot()
    failures = []

    for label, raw, content_type, expected in hostile_bodies(body, OPTIONAL.get(route, set())):
        response = getattr(auth_client, method)(url, raw, content_type=content_type)
        payload = response.json() if response["Content-Type"] == "application/json" else None
        shaped = (
            isinstance(payload, dict)
            and payload.get("type") in {"validation_error", "client_error"}
            and all(set(e) == {"code", "detail", "attr"} for e in payload.get("errors", [None]))
        )
        if response.status_code != expected or not shaped:
            failures.append((label, response.status_code, response.content[:200]))

    assert failures == []
    assert stores_snapshot() == before


@pytest.mark.parametrize(
    ("route", "params", "status"),
    [
        ("chats-get-chat", {"limit": "9" * 5000}, HTTPStatus.BAD_REQUEST),
        ("chats-get-chat", {"limit": "-5"}, HTTPStatus.BAD_REQUEST),
        ("chats-get-chat", {"limit": "1e9"}, HTTPStatus.BAD_REQUEST),
        ("chats-get-chat", {"limit": str(10**18)}, HTTPStatus.OK),  # read as 1000
        ("chats-get-chat", {"before": "../../etc/passwd"}, HTTPStatus.BAD_REQUEST),
        ("chats-get-chat", {"chat_id": "'; DROP TABLE chats; --"}, HTTPStatus.BAD_REQUEST),
        ("messages-get-messages", {"branch_id": "{}"}, HTTPStatus.BAD_REQUEST),
        ("branches-get-branches", {"chat_id": ""}, HTTPStatus.BAD_REQUEST),
        ("chats-list-chats", {"page_size": str(10**18)}, HTTPStatus.OK),  # read as 100
        ("chats-list-chats", {"cursor": "not base64 at all %%%"}, HTTPStatus.BAD_REQUEST),
        ("chats-list-chats", {"cursor": "cD1mb29iYXI="}, HTTPStatus.BAD_REQUEST),  # p=foobar
        ("chats-list-chats", {"cursor": "cD0yMDI2LTAxLTAx"}, HTTPStatus.BAD_REQUEST),  # p=2026-01-01, naive
        ("chats-list-chats", {"search": "x" * 201}, HTTPStatus.BAD_REQUEST),
    ],
)
def test_hostile_query_strings_on_read_routes(route, params, status, world, auth_client):
    chat_id = world["chats-update-chat"][1]["chat_id"]
    query = {"chat_id": chat_id, **params} if route != "chats-list-chats" else params

    response = auth_client.get(reverse(route), query)

    assert response.status_code == status, response.content[:300]
    if status >= 400:
        assert response.json()["type"] == "validation_error"
