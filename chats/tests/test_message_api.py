"""The message routes: add-message and get-messages."""

import json
import uuid
from http import HTTPStatus

import pytest

from chatproject.api.formats import iso_datetime
from chatproject.testing import error
from chats import content_repository
from chats.models import Branch, Chat

from .factories import ChatFactory
from .stores import lose_chat_after_append
from .routes import ADD, GET, MESSAGES

pytestmark = pytest.mark.django_db


def add(client, chat, **body):
    return client.post(ADD, {"chat_id": str(chat.id), "question": "Q", "response": "R", **body}, format="json")


def test_add_message_appends_to_the_active_branch(auth_client, chat):
    before = chat.updated_at

    response = add(auth_client, chat, question="Why?", response="Because.")

    assert response.status_code == HTTPStatus.CREATED
    [stored] = content_repository.read_pairs_before(chat_id=chat.id, branch_id=chat.active_branch_id, end=4, limit=1)
    assert response.json() == {
        "response_id": stored.response_id,
        "question": "Why?",
        "response": "Because.",
        "timestamp": iso_datetime(stored.timestamp),
        "branches": [],
        "branch_id": str(chat.active_branch_id),
        "position": 3,
        "status": "complete",
        "model": None,
        "finish_reason": None,
        "usage": None,
        "error_code": None,
    }
    chat.refresh_from_db()
    assert chat.updated_at > before
    assert Branch.objects.get(pk=chat.active_branch_id).message_count == 4


def test_add_message_keeps_text_exactly(auth_client, chat):
    text = "  leading and trailing spaces, unicode ✓ and\nnew lines  "

    response = add(auth_client, chat, question=text, response=text)

    assert (response.json()["question"], response.json()["response"]) == (text, text)
    page = auth_client.get(GET, {"chat_id": str(chat.id), "limit": 1}).json()
    assert page["messages"][0]["question"] == text


def test_add_message_to_an_explicit_branch_of_the_chat(auth_client, chat):
    response = add(auth_client, chat, branch_id=str(chat.active_branch_id))

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["position"] == 3


def test_add_message_accepts_ids_in_the_query_string(auth_client, chat):
    response = auth_client.post(f"{ADD}?chat_id={chat.id}", {"question": "Q", "response": "R"}, format="json")

    assert response.status_code == HTTPStatus.CREATED


def test_add_message_with_disagreeing_branch_ids_is_400(auth_client, chat):
    response = auth_client.post(
        f"{ADD}?branch_id={uuid.uuid4()}",
        {"chat_id": str(chat.id), "branch_id": str(chat.active_branch_id), "question": "Q", "response": "R"},
        format="json",
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert [(e["code"], e["attr"]) for e in response.json()["errors"]] == [("mismatch", "branch_id")]
    assert Branch.objects.get(pk=chat.active_branch_id).message_count == 3


def test_add_message_to_a_branch_of_another_chat_is_404(auth_client, user, chat):
    other = ChatFactory(owner=user)

    response = add(auth_client, chat, branch_id=str(other.active_branch_id))

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == error("not_found", "Branch not found in this chat.")
    assert content_repository.branch_length(chat_id=other.id, branch_id=other.active_branch_id) == 0


@pytest.mark.parametrize(
    ("body", "code", "attr"),
    [
        ({"question": None}, "null", "question"),
        ({"question": ""}, "blank", "question"),
        ({"response": "r" * 100_001}, "max_length", "response"),
        ({"chat_id": "nope"}, "invalid", "chat_id"),
        ({"position": 3}, "unknown_field", "position"),
    ],
)
def test_add_message_rejects_bad_input_and_stores_nothing(auth_client, chat, body, code, attr):
    response = add(auth_client, chat, **body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert [(e["code"], e["attr"]) for e in response.json()["errors"]] == [(code, attr)]
    assert content_repository.branch_length(chat_id=chat.id, branch_id=chat.active_branch_id) == 3


def test_add_message_needs_a_question_and_while_generation_is_off_a_response(auth_client, chat):
    nothing = auth_client.post(ADD, {"chat_id": str(chat.id)}, format="json")
    question = auth_client.post(ADD, {"chat_id": str(chat.id), "question": "q"}, format="json")

    assert nothing.json()["errors"] == [{"code": "required", "detail": "This field is required.", "attr": "question"}]
    assert question.status_code == HTTPStatus.BAD_REQUEST
    assert question.json()["errors"][0]["code"] == "response_required"
    assert Branch.objects.get(pk=chat.active_branch_id).message_count == 3


def test_add_message_to_a_locked_chat_is_409(auth_client, chat):
    Chat.objects.filter(pk=chat.pk).update(locked=True)

    response = add(auth_client, chat)

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["errors"][0]["code"] == "chat_locked"
    assert content_repository.branch_length(chat_id=chat.id, branch_id=chat.active_branch_id) == 3


def test_add_message_to_a_hidden_chat_is_404(auth_client, chat):
    Chat.objects.filter(pk=chat.pk).update(hidden=True)

    response = add(auth_client, chat)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert content_repository.branch_length(chat_id=chat.id, branch_id=chat.active_branch_id) == 3


def test_get_messages_is_get_chats_page_without_the_chat(auth_client, chat):
    page = auth_client.get(GET, {"chat_id": str(chat.id), "limit": 2}).json()

    response = auth_client.get(MESSAGES, {"chat_id": str(chat.id), "limit": 2})

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "chat_id": str(chat.id),
        "branch_id": str(chat.active_branch_id),
        "messages": page["messages"],
        "has_more": True,
    }
    assert [m["position"] for m in page["messages"]] == [1, 2]


def test_get_messages_of_unknown_chat_is_404(auth_client, db):
    response = auth_client.get(MESSAGES, {"chat_id": str(uuid.uuid4())})

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == error("not_found", "Chat not found.")


def test_ids_may_come_in_the_body_of_a_read_too(auth_client, chat):
    response = auth_client.generic("GET", MESSAGES, '{"chat_id": "%s"}' % chat.id, content_type="application/json")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["chat_id"] == str(chat.id)


def test_the_same_uuid_spelled_differently_is_no_mismatch(auth_client, chat):
    spelled = str(chat.id).replace("-", "").upper()

    response = auth_client.post(
        f"{ADD}?chat_id={spelled}", {"chat_id": str(chat.id), "question": "Q", "response": "R"}, format="json"
    )

    assert response.status_code == HTTPStatus.CREATED


def test_a_pair_written_to_a_branch_deleted_meanwhile_is_removed_and_404(auth_client, chat, monkeypatch):
    lose_chat_after_append(monkeypatch, chat)

    response = add(auth_client, chat)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert content_repository.read_all_pairs(chat_id=chat.id, branch_id=chat.active_branch_id) == []


def test_the_message_length_limit_is_read_at_each_request(auth_client, chat, settings):
    settings.MAX_MESSAGE_CHARS = 5

    answer = auth_client.post(ADD, {"chat_id": str(chat.id), "question": "123456", "response": "r"}, format="json")

    assert answer.status_code == 400
    assert answer.json()["errors"][0]["attr"] == "question"


@pytest.mark.parametrize(
    ("body", "attr", "code_point"),
    [
        ({"question": "ok \U0001F600 then \ud800"}, "question", "D800"),
        ({"response": "x" * 99_000 + "\udfff"}, "response", "DFFF"),
    ],
)
def test_a_lone_surrogate_is_refused_and_named(auth_client, chat, body, attr, code_point):
    # JSON may escape one ("\ud800"); the client's encoder would refuse to send it raw.
    raw = json.dumps({"chat_id": str(chat.id), "question": "Q", "response": "R", **body})
    response = auth_client.post(ADD, raw, content_type="application/json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["errors"] == [
        {
            "code": "surrogate_characters_not_allowed",
            "detail": f"Surrogate characters are not allowed: U+{code_point}.",
            "attr": attr,
        }
    ]
    assert content_repository.branch_length(chat_id=chat.id, branch_id=chat.active_branch_id) == 3


def test_a_serializer_takes_the_text_fields_as_built_until_the_limit_changes(settings):
    from rest_framework.exceptions import ValidationError

    from chats.serializers import MessageAddInputSerializer

    declared = MessageAddInputSerializer._declared_fields["question"]
    first, second = MessageAddInputSerializer().fields["question"], MessageAddInputSerializer().fields["question"]
    settings.MAX_MESSAGE_CHARS = 5
    rebuilt = MessageAddInputSerializer().fields["question"]

    # Copies of the declared field, each bound to its own serializer.
    assert first is not second and first.parent is not second.parent and declared.parent is None
    assert first.validators is declared.validators
    # Built anew for the new limit, which it applies.
    assert rebuilt.validators is not declared.validators and rebuilt.max_length == 5
    with pytest.raises(ValidationError) as refused:
        rebuilt.run_validation("123456")
    assert refused.value.detail[0].code == "max_length"
