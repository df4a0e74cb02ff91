"""Another user's ids are a 404 on every route that takes one, whatever the
method, and the owner's data stays exactly as it was.

The table below is checked against the URL configuration: a new API route that
takes an id fails `test_every_route_with_ids_is_in_the_matrix` until it has an
entry here.
"""

from http import HTTPStatus

import pytest
from django.urls import get_resolver, resolve, reverse

from branches import services as branch_services
from chats import content_repository
from chats.tests.factories import ChatFactory
from chats.tests.stores import stores_snapshot

pytestmark = pytest.mark.django_db


def owners_chat(owner):
    """A chat with two pairs on its root and a branch forked after the first;
    returns the chat and the ids a request could name."""
    chat = ChatFactory(owner=owner, pairs=2)
    first = content_repository.read_pairs_before(chat_id=chat.id, branch_id=chat.active_branch_id, limit=2)[0]
    branch, _ = branch_services.branch_create(
        user=owner, chat_id=chat.id, response_id=first.response_id, question="q", response="r", activate=False
    )
    return chat, {"chat_id": str(chat.id), "branch_id": str(branch.id), "response_id": first.response_id}


# url name -> (method, how the request carries the owner's ids, extra input)
MATRIX = {
    "chats-get-chat": ("get", {"chat_id"}, {}),
    "chats-update-chat": ("put", {"chat_id"}, {"title": "stolen"}),
    "chats-delete-chat": ("delete", {"chat_id"}, {}),
    "messages-add-message": ("post", {"chat_id", "branch_id"}, {"question": "q", "response": "r"}),
    "messages-get-messages": ("get", {"chat_id", "branch_id"}, {}),
    "branches-create-branch": ("post", {"chat_id", "response_id"}, {"name": "stolen"}),
    "branches-get-branches": ("get", {"chat_id"}, {}),
    "branches-set-active-branch": ("put", {"chat_id", "branch_id"}, {}),
    "branches-rename-branch": ("put", {"chat_id", "branch_id"}, {"name": "stolen"}),
    "branches-delete-branch": ("delete", {"chat_id", "branch_id"}, {"cascade": True}),
    "messages-regenerate": ("post", {"chat_id", "response_id"}, {}),
    "messages-stop-generation": ("post", {"chat_id", "response_id"}, {}),
    "messages-stream-message": ("get", {"chat_id", "response_id"}, {}),
    "chats-export-chat": ("get", {"chat_id"}, {}),
    "search-search-messages": ("get", {"chat_id"}, {"q": "q0"}),
    "shares-create-share": ("post", {"chat_id"}, {}),
    "shares-list-shares": ("get", {"chat_id"}, {}),
}
# Ids that may travel in the query string rather than the body.
QUERY_OR_BODY = {"chat_id", "branch_id"}
# Routes whose input names no existing object.
WITHOUT_IDS = {
    "auth-register",
    "auth-login",
    "auth-refresh",
    "auth-logout",
    "auth-me",
    "chats-create-chat",
    "chats-list-chats",
    "chats-import-chats",  # whatever ids a file names, an import makes new chats of the caller's
    # A share's token is the key, whoever holds it (shares/tests: every link
    # that stopped working is the same 404).
    "shared-get-shared",
    "shares-fork-shared",
}
# Routes whose ids are not a chat's: their own tests check other users' ids.
OWN_TESTS = {"shares-delete-share": "shares/tests: another user's share_id is 404 and deletes nothing"}


def api_route_names():
    return {
        name
        for name, patterns in get_resolver().reverse_dict.items()
        if isinstance(name, str) and any(p[0][0][0].startswith("api/v1/") for p in [patterns])
    }


def test_every_route_with_ids_is_in_the_matrix():
    assert api_route_names() == set(MATRIX) | WITHOUT_IDS | set(OWN_TESTS)


def allowed_methods(route):
    """The methods a route answers, read from its view: the action mapping, and
    HEAD wherever GET is."""
    methods = set(resolve(reverse(route)).func.actions)
    return methods | ({"head"} if "get" in methods else set())


def test_the_matrix_names_each_routes_only_method():
    assert {route: allowed_methods(route) for route in MATRIX} == {
        route: {method} | ({"head"} if method == "get" else set()) for route, (method, _, _) in MATRIX.items()
    }


@pytest.mark.parametrize("route", sorted(MATRIX))
def test_other_users_ids_are_404_with_every_allowed_method(route, user, other_client):
    chat, all_ids = owners_chat(user)
    method, carried, extra = MATRIX[route]
    ids = {k: v for k, v in all_ids.items() if k in carried}
    before = stores_snapshot()

    for verb in sorted(allowed_methods(route)):
        reads = verb in ("get", "head")  # every input of a read is in its query string
        sent = {**ids, **extra} if reads else ids
        query = "&".join(f"{k}={v}" for k, v in sent.items() if reads or k in QUERY_OR_BODY)
        url = f"{reverse(route)}?{query}"
        if verb in ("get", "head"):
            response = getattr(other_client, verb)(url)
        else:
            response = getattr(other_client, verb)(url, {**ids, **extra}, format="json")
        assert response.status_code == HTTPStatus.NOT_FOUND, (verb, response.content)
        if verb != "head":
            assert response.json()["errors"][0]["code"] == "not_found"
    assert stores_snapshot() == before


@pytest.mark.parametrize("route", sorted(MATRIX))
@pytest.mark.parametrize("where", ["body", "query"])
def test_other_users_ids_are_404_and_change_nothing(route, where, user, other_client):
    chat, all_ids = owners_chat(user)
    method, carried, extra = MATRIX[route]
    ids = {k: v for k, v in all_ids.items() if k in carried}
    before = stores_snapshot()
    url = reverse(route)

    if method == "get":
        response = other_client.get(url, {**ids, **extra})
    elif where == "query":
        query = "&".join(f"{k}={v}" for k, v in ids.items() if k in QUERY_OR_BODY)
        body = {**{k: v for k, v in ids.items() if k not in QUERY_OR_BODY}, **extra}
        response = getattr(other_client, method)(f"{url}?{query}", body, format="json")
    else:
        response = getattr(other_client, method)(url, {**ids, **extra}, format="json")

    assert response.status_code == HTTPStatus.NOT_FOUND, response.content
    assert response.json()["type"] == "client_error"
    assert [e["code"] for e in response.json()["errors"]] == ["not_found"]
    assert stores_snapshot() == before
