"""The chat routes: create-chat, get-chat, update-chat, delete-chat, list-chats."""

import uuid
from http import HTTPStatus

import pytest

from branches.tests.routes import CREATE_BRANCH
from chatproject.api.formats import iso_datetime
from chatproject.testing import error
from chats import content_repository
from chats.models import Branch, Chat, ChatStatus

from .factories import ChatFactory
from .routes import CREATE, DELETE, GET, LIST, UPDATE

pytestmark = pytest.mark.django_db


def chat_body(chat, **changes):
    chat.refresh_from_db()
    root = Branch.objects.get(chat=chat, parent__isnull=True)
    return {
        "chat_id": str(chat.id),
        "title": chat.title,
        "status": chat.status,
        "created_at": iso_datetime(chat.created_at),
        "updated_at": iso_datetime(chat.updated_at),
        "active_branch_id": str(chat.active_branch_id),
        "root_branch_id": str(root.id),
        "branch_count": Branch.objects.filter(chat=chat).count(),
        **changes,
    }


def stored_pairs(chat):
    return content_repository.read_pairs_before(chat_id=chat.id, branch_id=chat.active_branch_id, limit=10_000)


# create-chat


def test_create_chat_without_pairs_has_root_branch_and_default_title(auth_client, user):
    response = auth_client.post(CREATE, {}, format="json")

    assert response.status_code == HTTPStatus.CREATED
    chat = Chat.objects.get(owner=user)
    root = Branch.objects.get(chat=chat)
    assert (root.name, root.parent_id, root.fork_position, root.message_count) == ("main", None, 0, 0)
    assert response.json() == chat_body(chat, title="New chat", messages=[])
    assert chat.active_branch_id == root.id


def test_create_chat_with_first_pair_returns_it_and_titles_from_question(auth_client, user):
    question = "   " + "How do branches share history? " * 3

    response = auth_client.post(CREATE, {"question": question, "response": "By reference."}, format="json")

    assert response.status_code == HTTPStatus.CREATED
    chat = Chat.objects.get(owner=user)
    [pair] = stored_pairs(chat)
    assert chat.title == question.strip()[:60].strip()
    assert response.json() == chat_body(
        chat,
        messages=[
            {
                "response_id": pair.response_id,
                "question": question,
                "response": "By reference.",
                "timestamp": iso_datetime(pair.timestamp),
                "branches": [],
                "branch_id": str(chat.active_branch_id),
                "position": 0,
                "status": "complete",
                "model": None,
                "finish_reason": None,
                "usage": None,
                "error_code": None,
            }
        ],
    )
    assert Branch.objects.get(chat=chat).message_count == 1


def test_create_chat_keeps_given_title(auth_client, user):
    response = auth_client.post(CREATE, {"title": "Trip plans", "question": "q", "response": "r"}, format="json")

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["title"] == "Trip plans"


def test_create_chat_refuses_a_response_without_its_question(auth_client):
    response = auth_client.post(CREATE, {"response": "only a response"}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == error("required", "A response needs its question.", "question", "validation_error")
    assert not Chat.objects.exists()


def test_create_chat_with_a_question_alone_wants_its_response_while_generation_is_off(auth_client):
    response = auth_client.post(CREATE, {"question": "only a question"}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"][0]["code"] == "response_required"
    assert not Chat.objects.exists()


@pytest.mark.parametrize(
    ("field", "length", "detail"),
    [
        ("title", 201, "Ensure this field has no more than 200 characters."),
        ("question", 100_001, "Ensure this field has no more than 100000 characters."),
        ("response", 100_001, "Ensure this field has no more than 100000 characters."),
    ],
)
def test_create_chat_rejects_overlong_text(auth_client, field, length, detail):
    body = {"question": "q", "response": "r", field: "x" * length}

    response = auth_client.post(CREATE, body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == error("max_length", detail, field, "validation_error")
    assert not Chat.objects.exists()


def test_create_chat_accepts_text_at_the_limits(auth_client):
    body = {"title": "t" * 200, "question": "q" * 100_000, "response": "r" * 100_000}

    response = auth_client.post(CREATE, body, format="json")

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["messages"][0]["response"] == "r" * 100_000


def test_create_chat_rejects_unknown_and_read_only_fields(auth_client):
    response = auth_client.post(CREATE, {"title": "t", "status": "locked", "owner": 1}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert {(e["code"], e["attr"]) for e in response.json()["errors"]} == {
        ("unknown_field", "status"),
        ("unknown_field", "owner"),
    }
    assert not Chat.objects.exists()


def test_create_chat_rejects_wrong_types(auth_client):
    response = auth_client.post(CREATE, {"title": ["a"], "question": 5, "response": None}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert {(e["code"], e["attr"]) for e in response.json()["errors"]} == {
        ("invalid", "title"),
        ("invalid", "question"),
        ("null", "response"),
    }


def test_create_chat_needs_a_token(api_client):
    response = api_client.post(CREATE, {}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == error("not_authenticated", "Authentication credentials were not provided.")


# get-chat


def test_get_chat_shows_the_active_branch_path(auth_client, chat):
    pairs = stored_pairs(chat)

    response = auth_client.get(GET, {"chat_id": str(chat.id)})

    assert response.status_code == HTTPStatus.OK
    assert response.json() == chat_body(
        chat,
        branch_id=str(chat.active_branch_id),
        has_more=False,
        messages=[
            {
                "response_id": p.response_id,
                "question": f"q{i}",
                "response": f"r{i}",
                "timestamp": iso_datetime(p.timestamp),
                "branches": [],
                "branch_id": str(chat.active_branch_id),
                "position": i,
                "status": "complete",
                "model": None,
                "finish_reason": None,
                "usage": None,
                "error_code": None,
                "alternatives": [str(chat.active_branch_id)],
            }
            for i, p in enumerate(pairs)
        ],
    )


def test_get_chat_pages_with_limit_and_before(auth_client, user):
    chat = ChatFactory(owner=user, pairs=7)
    ids = [p.response_id for p in stored_pairs(chat)]

    latest = auth_client.get(GET, {"chat_id": str(chat.id), "limit": 3}).json()
    older = auth_client.get(GET, {"chat_id": str(chat.id), "limit": 3, "before": ids[4]}).json()
    oldest = auth_client.get(GET, {"chat_id": str(chat.id), "limit": 3, "before": ids[1]}).json()
    nothing = auth_client.get(GET, {"chat_id": str(chat.id), "limit": 3, "before": ids[0]}).json()

    assert [(m["question"], m["position"]) for m in latest["messages"]] == [("q4", 4), ("q5", 5), ("q6", 6)]
    assert latest["has_more"] is True
    assert [m["question"] for m in older["messages"]] == ["q1", "q2", "q3"]
    assert older["has_more"] is True
    assert [m["question"] for m in oldest["messages"]] == ["q0"]
    assert oldest["has_more"] is False
    assert (nothing["messages"], nothing["has_more"]) == ([], False)


def test_get_chat_reads_a_limit_above_1000_as_1000(auth_client, chat):
    response = auth_client.get(GET, {"chat_id": str(chat.id), "limit": 5000})

    assert response.status_code == HTTPStatus.OK
    assert len(response.json()["messages"]) == 3


@pytest.mark.parametrize(
    ("params", "code", "attr"),
    [
        ({}, "required", "chat_id"),
        ({"chat_id": "not-a-uuid"}, "invalid", "chat_id"),
        ({"limit": 0}, "min_value", "limit"),
        ({"limit": "many"}, "invalid", "limit"),
        ({"before": "xyz"}, "invalid", "before"),
    ],
)
def test_get_chat_rejects_bad_parameters(auth_client, chat, params, code, attr):
    query = {"chat_id": str(chat.id), **params} if "chat_id" not in params and params else params

    response = auth_client.get(GET, query)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert [(e["code"], e["attr"]) for e in response.json()["errors"]] == [(code, attr)]


def test_get_chat_with_unknown_before_is_404(auth_client, chat):
    response = auth_client.get(GET, {"chat_id": str(chat.id), "before": str(uuid.uuid4())})

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == error("not_found", "No pair with this response_id on this branch's path.")


def test_get_chat_with_before_from_another_chat_is_404(auth_client, user, chat):
    other = ChatFactory(owner=user, pairs=1)
    foreign = stored_pairs(other)[0].response_id

    response = auth_client.get(GET, {"chat_id": str(chat.id), "before": foreign})

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_get_chat_with_branch_of_another_chat_is_404(auth_client, user, chat):
    other = ChatFactory(owner=user)

    response = auth_client.get(GET, {"chat_id": str(chat.id), "branch_id": str(other.active_branch_id)})

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == error("not_found", "Branch not found in this chat.")


def test_get_chat_of_unknown_id_is_404(auth_client, db):
    response = auth_client.get(GET, {"chat_id": str(uuid.uuid4())})

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == error("not_found", "Chat not found.")


def test_hidden_chat_is_404_to_its_owner(auth_client, chat):
    Chat.objects.filter(pk=chat.pk).update(hidden=True)

    responses = [
        auth_client.get(GET, {"chat_id": str(chat.id)}),
        auth_client.put(UPDATE, {"chat_id": str(chat.id), "title": "x"}, format="json"),
        auth_client.delete(DELETE, {"chat_id": str(chat.id)}, format="json"),
    ]

    assert [r.status_code for r in responses] == [HTTPStatus.NOT_FOUND] * 3
    assert Chat.objects.filter(pk=chat.pk, title="A chat").exists()


# update-chat


def test_update_chat_changes_title_and_activity(auth_client, chat):
    before = chat.updated_at

    response = auth_client.put(UPDATE, {"chat_id": str(chat.id), "title": "Renamed"}, format="json")

    assert response.status_code == HTTPStatus.OK
    chat.refresh_from_db()
    assert chat.title == "Renamed"
    assert chat.updated_at > before
    assert response.json() == chat_body(chat)


def test_update_chat_takes_chat_id_from_the_query_string(auth_client, chat):
    response = auth_client.put(f"{UPDATE}?chat_id={chat.id}", {"title": "Renamed"}, format="json")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["title"] == "Renamed"


def test_update_chat_with_disagreeing_ids_is_400(auth_client, chat):
    response = auth_client.put(
        f"{UPDATE}?chat_id={uuid.uuid4()}", {"chat_id": str(chat.id), "title": "Renamed"}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == error(
        "mismatch", "The query string and the body give different values.", "chat_id", "validation_error"
    )
    chat.refresh_from_db()
    assert chat.title == "A chat"


@pytest.mark.parametrize("field", ["status", "owner", "branch_id", "active_branch_id"])
def test_update_chat_rejects_any_other_field(auth_client, chat, field):
    response = auth_client.put(UPDATE, {"chat_id": str(chat.id), "title": "x", field: "hidden"}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == error("unknown_field", "Unknown field.", field, "validation_error")
    chat.refresh_from_db()
    assert (chat.title, chat.status) == ("A chat", ChatStatus.ACTIVE)


def test_update_chat_needs_a_title(auth_client, chat):
    response = auth_client.put(UPDATE, {"chat_id": str(chat.id), "title": ""}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == error("blank", "This field may not be blank.", "title", "validation_error")


def test_update_locked_chat_is_409(auth_client, chat):
    Chat.objects.filter(pk=chat.pk).update(locked=True)

    response = auth_client.put(UPDATE, {"chat_id": str(chat.id), "title": "x"}, format="json")

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json() == error("chat_locked", "This chat is locked by a moderator and cannot be changed.")
    chat.refresh_from_db()
    assert chat.title == "A chat"


# delete-chat


def test_delete_chat_removes_chat_branches_and_content(auth_client, chat):
    response = auth_client.delete(DELETE, {"chat_id": str(chat.id)}, format="json")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert not Chat.objects.filter(pk=chat.pk).exists()
    assert not Branch.objects.filter(chat_id=chat.pk).exists()
    assert stored_pairs(chat) == []
    assert auth_client.get(GET, {"chat_id": str(chat.id)}).status_code == HTTPStatus.NOT_FOUND


def test_delete_chat_takes_chat_id_from_the_query_string(auth_client, chat):
    response = auth_client.delete(f"{DELETE}?chat_id={chat.id}")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert not Chat.objects.filter(pk=chat.pk).exists()


def test_delete_locked_chat_is_allowed(auth_client, chat):
    Chat.objects.filter(pk=chat.pk).update(locked=True)

    response = auth_client.delete(DELETE, {"chat_id": str(chat.id)}, format="json")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert not Chat.objects.filter(pk=chat.pk).exists()


def test_delete_chat_leaves_other_chats_content(auth_client, user, chat):
    other = ChatFactory(owner=user, pairs=2)

    auth_client.delete(DELETE, {"chat_id": str(chat.id)}, format="json")

    assert [p.question for p in stored_pairs(other)] == ["q0", "q1"]


# list-chats


def test_list_chats_most_recently_active_first(auth_client, user):
    first, second, third = (ChatFactory(owner=user, title=t) for t in ("one", "two", "three"))
    auth_client.put(UPDATE, {"chat_id": str(first.id), "title": "one again"}, format="json")

    response = auth_client.get(LIST)

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["previous"] is None and body["next"] is None
    assert body["results"] == [chat_body(first), chat_body(third), chat_body(second)]


def test_list_chats_searches_titles_case_insensitively(auth_client, user):
    ChatFactory(owner=user, title="Python packaging")
    ChatFactory(owner=user, title="Gardening")

    response = auth_client.get(LIST, {"search": "PYTHON"})

    assert [c["title"] for c in response.json()["results"]] == ["Python packaging"]


def test_list_chats_pages_with_cursors(auth_client, user):
    titles = [f"chat {i}" for i in range(5)]
    for title in titles:
        ChatFactory(owner=user, title=title)

    first = auth_client.get(LIST, {"page_size": 2}).json()
    second = auth_client.get(first["next"]).json()
    third = auth_client.get(second["next"]).json()
    back = auth_client.get(third["previous"]).json()

    seen = [c["title"] for page in (first, second, third) for c in page["results"]]
    assert seen == list(reversed(titles))
    assert third["next"] is None
    assert [c["title"] for c in back["results"]] == [c["title"] for c in second["results"]]


def test_list_chats_caps_page_size_at_100(auth_client, user):
    for _ in range(101):
        Chat.objects.create(owner=user, title="bulk")

    response = auth_client.get(LIST, {"page_size": 1000})

    assert len(response.json()["results"]) == 100
    assert response.json()["next"] is not None


def test_list_chats_rejects_a_bad_cursor(auth_client, db):
    response = auth_client.get(LIST, {"cursor": "garbage"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == error("invalid", "Invalid cursor.", "cursor", "validation_error")


def test_list_chats_shows_neither_hidden_nor_others_chats(auth_client, user, other_user):
    mine = ChatFactory(owner=user, title="mine")
    ChatFactory(owner=other_user, title="theirs")
    hidden = ChatFactory(owner=user, title="hidden")
    Chat.objects.filter(pk=hidden.pk).update(hidden=True)

    response = auth_client.get(LIST)

    assert [c["chat_id"] for c in response.json()["results"]] == [str(mine.id)]


def test_a_chat_of_many_buckets_reads_back_in_order_through_before(auth_client, user, settings):
    settings.CONTENT_BUCKET_SIZE = 4
    chat = ChatFactory(owner=user, pairs=30)

    seen, before = [], None
    while True:
        params = {"chat_id": str(chat.id), "limit": 7, **({"before": before} if before else {})}
        page = auth_client.get(GET, params).json()
        seen = page["messages"] + seen
        if not page["has_more"]:
            break
        before = page["messages"][0]["response_id"]

    assert [(m["question"], m["position"]) for m in seen] == [(f"q{i}", i) for i in range(30)]


def test_title_and_name_limits_follow_one_setting(auth_client, chat, settings):
    settings.MAX_TITLE_CHARS = 10
    detail = "Ensure this field has no more than 10 characters."
    created = auth_client.post(CREATE, {"title": "t" * 11}, format="json")
    renamed = auth_client.put(UPDATE, {"chat_id": str(chat.id), "title": "t" * 11}, format="json")
    branch = auth_client.post(
        CREATE_BRANCH,
        {"chat_id": str(chat.id), "response_id": None, "name": "n" * 11},
        format="json",
    )
    at_limit = auth_client.put(UPDATE, {"chat_id": str(chat.id), "title": "t" * 10}, format="json")

    assert created.json() == error("max_length", detail, "title", "validation_error")
    assert renamed.json() == error("max_length", detail, "title", "validation_error")
    assert branch.json() == error("max_length", detail, "name", "validation_error")
    assert at_limit.status_code == HTTPStatus.OK
