"""Two stores without loss: ordering of writes, outages, concurrency."""

import threading
from http import HTTPStatus

import pytest
from django.db import connection

from accounts.tests.factories import UserFactory
from chatproject.errors import NotFound
from chatproject.testing import client_for
from chats import content_repository, services
from chats.models import Branch, Chat
from chats.tests.stores import raw_buckets, stores_snapshot

from .factories import ChatFactory
from .routes import ADD, CREATE


@pytest.mark.django_db
def test_mongodb_down_on_append_is_503_and_postgres_is_unchanged(user, chat, mongo_down):
    before = stores_snapshot(content=False)
    client = client_for(user, raise_request_exception=False)

    response = client.post(ADD, {"chat_id": str(chat.id), "question": "q", "response": "r"}, format="json")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json() == {
        "type": "server_error",
        "errors": [
            {"code": "service_unavailable", "detail": "The content store is unavailable. Try again later.", "attr": None}
        ],
    }
    assert stores_snapshot(content=False) == before


@pytest.mark.django_db
def test_mongodb_down_on_create_with_first_pair_is_503_and_creates_nothing(user, mongo_down):
    client = client_for(user, raise_request_exception=False)

    response = client.post(CREATE, {"title": "t", "question": "q", "response": "r"}, format="json")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert [e["code"] for e in response.json()["errors"]] == ["service_unavailable"]
    assert not Chat.objects.exists()
    assert not Branch.objects.exists()


@pytest.mark.django_db
def test_mongodb_outage_ends_and_appends_work_again_without_restart(user, chat, settings, mongo_down):
    client = client_for(user, raise_request_exception=False)
    body = {"chat_id": str(chat.id), "question": "q", "response": "r"}
    assert client.post(ADD, body, format="json").status_code == HTTPStatus.SERVICE_UNAVAILABLE

    content_repository.connect(settings.MONGODB_URI)
    response = client.post(ADD, body, format="json")

    assert response.status_code == HTTPStatus.CREATED


@pytest.mark.requires_postgres
def test_postgres_failure_after_the_first_pair_removes_it_again(postgres_down):
    owner = UserFactory.build()
    calls = content_repository.calls()

    with pytest.raises(Exception, match="connection"):
        services.chat_create(user=owner, title="t", question="q", response="r")

    # The pair was written (four calls: a first append) and removed (one more).
    assert content_repository.calls() - calls == 5
    assert raw_buckets().count_documents({}) == 0


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_25_concurrent_appends_to_one_chat_all_land_once_without_gaps(settings):
    settings.CONTENT_BUCKET_SIZE = 4
    owner = UserFactory()
    chat = ChatFactory(owner=owner)
    statuses, positions = [], []
    barrier = threading.Barrier(25)

    def append(n):
        try:
            client = client_for(owner)
            barrier.wait()
            response = client.post(
                ADD, {"chat_id": str(chat.id), "question": f"q{n}", "response": f"r{n}"}, format="json"
            )
            statuses.append(response.status_code)
            positions.append((n, response.json().get("position")))
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(n,)) for n in range(25)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert statuses == [HTTPStatus.CREATED] * 25
    pairs = content_repository.read_pairs_before(chat_id=chat.id, branch_id=chat.active_branch_id, limit=1000)
    assert sorted(p.question for p in pairs) == sorted(f"q{n}" for n in range(25))
    assert [p.index for p in pairs] == list(range(25))
    assert sorted(pos for _, pos in positions) == list(range(25))
    assert {f"q{n}": pos for n, pos in positions} == {p.question: p.index for p in pairs}
    assert Branch.objects.get(pk=chat.active_branch_id).message_count == 25


@pytest.mark.django_db
def test_deleting_a_chat_deleted_meanwhile_is_not_found(user, chat):
    """Two deletes of one chat at once: the second finds it gone (404), not a 500."""
    stale = Chat.objects.get(pk=chat.pk)
    services.chat_delete(chat=chat)

    with pytest.raises(NotFound):
        services.chat_delete(chat=stale)
