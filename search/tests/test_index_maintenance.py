"""The index follows the content: every service that writes a finished pair
indexes it, and reconcile_content and rebuild_search_index find and repair
what disagrees."""

import json
import time
from http import HTTPStatus
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from chatproject.testing import client_for
from chats import content_repository
from chats.models import Chat
from chats.tests.factories import ChatFactory
from chats.tests.routes import ADD
from generation import worker
from search import index
from search.models import SearchEntry

pytestmark = pytest.mark.requires_postgres

SEARCH = reverse("search-search-messages")
IMPORT = reverse("chats-import-chats")


def found(client, q):
    answer = client.get(SEARCH, {"q": q})
    assert answer.status_code == HTTPStatus.OK, answer.content
    return [r["response_id"] for r in answer.json()["results"]]


def run(command, *args):
    out = StringIO()
    call_command(command, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_reconcile_finds_and_repairs_each_kind_of_index_damage(user, auth_client):
    chat = ChatFactory(owner=user, pairs=3)
    entries = {e.index: e for e in SearchEntry.objects.filter(chat=chat)}
    assert sorted(entries) == [0, 1, 2]
    entries[0].delete()  # missing
    SearchEntry.objects.filter(pk=entries[1].pk).update(question="wrong")  # stale
    orphan = SearchEntry.objects.get(pk=entries[2].pk)
    orphan.pk, orphan.response_id = None, "00000000-0000-4000-8000-000000000001"
    orphan.save()  # orphaned: no such pair

    report = run("reconcile_content", "--grace", "0")

    assert "[search_entry_missing]" in report and f"pair {entries[0].response_id}" in report
    assert f"the search index's entry of pair {entries[1].response_id} differs in question" in report
    assert "[search_entry_orphan]" in report and "00000000-0000-4000-8000-000000000001" in report
    assert "problems found: 3" in report
    assert found(auth_client, "q0") == []

    assert "repaired: 3" in run("reconcile_content", "--grace", "0", "--fix")
    assert "problems found: 0" in run("reconcile_content", "--grace", "0")
    assert found(auth_client, "q0") == [str(entries[0].response_id)]
    assert found(auth_client, "wrong") == []


@pytest.mark.django_db
def test_a_missing_entry_of_a_pair_just_written_is_left_to_its_writer(user):
    chat = ChatFactory(owner=user, pairs=1)
    SearchEntry.objects.filter(chat=chat).delete()

    assert "problems found: 0" in run("reconcile_content", "--grace", "60")
    assert "problems found: 1" in run("reconcile_content", "--grace", "0")


@pytest.mark.django_db
def test_rebuild_search_index_says_what_it_would_change_then_rebuilds(user, auth_client, settings):
    chat = ChatFactory(owner=user, pairs=2)
    ChatFactory(owner=user, pairs=1)
    SearchEntry.objects.filter(chat=chat, index=0).delete()
    before = sorted(SearchEntry.objects.values_list("response_id", flat=True))

    dry = run("rebuild_search_index", "--dry-run")

    assert "chats: 2, entries: 3; missing: 1, stale: 0, orphaned: 0" in dry
    assert sorted(SearchEntry.objects.values_list("response_id", flat=True)) == before
    assert "chats: 2, entries: 3; missing: 1" in run("rebuild_search_index")
    assert SearchEntry.objects.count() == 3
    assert "chats: 2, entries: 3; missing: 0, stale: 0, orphaned: 0" in run("rebuild_search_index", "--dry-run")


@pytest.mark.django_db
def test_a_new_search_configuration_takes_effect_with_a_rebuild(user, auth_client, settings):
    client_for(user).post(
        reverse("chats-create-chat"), {"question": "Where should I go sailing?", "response": "Try the Tagus."}, format="json"
    )
    assert len(found(auth_client, "sail")) == 1

    settings.SEARCH_CONFIG = "simple"
    run("rebuild_search_index")

    assert found(auth_client, "sail") == []
    assert len(found(auth_client, "sailing")) == 1


@pytest.mark.django_db
def test_imported_pairs_are_found(auth_client):
    created = auth_client.post(
        reverse("chats-create-chat"), {"question": "What is a fado?", "response": "A Lisbon song."}, format="json"
    ).json()
    exported = auth_client.get(reverse("chats-export-chat"), {"chat_id": created["chat_id"]})

    answer = auth_client.post(IMPORT, exported.content, content_type="application/json")

    assert answer.status_code == HTTPStatus.CREATED, answer.content
    [imported] = answer.json()["imported"]
    results = auth_client.get(SEARCH, {"q": "fado"}).json()["results"]
    assert sorted(r["chat_id"] for r in results) == sorted([created["chat_id"], imported["chat_id"]])


@pytest.mark.django_db(transaction=True)
def test_a_generated_answer_is_found_once_it_has_ended(user, local_provider):
    client = client_for(user)
    chat_id = client.post(reverse("chats-create-chat"), {"title": "Sea"}, format="json").json()["chat_id"]

    answer = client.post(ADD, {"chat_id": chat_id, "question": "Tell me about the ocean."}, format="json")

    assert answer.status_code == HTTPStatus.CREATED, answer.content
    assert answer.json()["status"] == "complete"
    for _ in range(100):  # the worker indexes as it ends, before the answer is sent
        if not worker.running_here():
            break
        time.sleep(0.05)
    assert found(client, "ocean") == [answer.json()["response_id"]]
    assert SearchEntry.objects.get().response == answer.json()["response"]


@pytest.mark.django_db(transaction=True)
def test_a_pair_of_a_chat_deleted_meanwhile_is_not_indexed(user):
    """Outside a transaction (as add-message and a generation's end call it),
    the entry's foreign keys are checked as it is written."""
    chat = ChatFactory(owner=user, pairs=1)
    [pairs] = content_repository.read_chat(chat_id=chat.id).values()
    SearchEntry.objects.all().delete()
    Chat.objects.filter(pk=chat.id).delete()

    assert index.index_pair(chat_id=chat.id, pair=pairs[0], owner_id=user.pk) == 0
    assert not SearchEntry.objects.exists()


@pytest.mark.django_db
def test_purged_chats_leave_no_entry(user, other_user, auth_client):
    ChatFactory(owner=user, pairs=2)
    kept = ChatFactory(owner=other_user, pairs=1)

    run("purge_chats", "--owner", user.username)

    assert found(auth_client, "q0") == []
    assert list(SearchEntry.objects.values_list("chat_id", flat=True)) == [kept.id]


@pytest.mark.django_db
def test_a_rebuild_keeps_each_entry_in_place(user):
    ChatFactory(owner=user, pairs=3)
    before = dict(SearchEntry.objects.values_list("response_id", "id"))

    run("rebuild_search_index")

    assert dict(SearchEntry.objects.values_list("response_id", "id")) == before


@pytest.mark.django_db(transaction=True)
def test_an_append_whose_entry_fails_is_counted_and_its_entry_left_to_reconcile(user, auth_client, settings, caplog):
    """add-message counts its pair and writes its entry in one statement; when
    the entry cannot be written (here a configuration PostgreSQL does not
    have), the pair is counted alone and the write still succeeds."""
    chat = ChatFactory(owner=user, pairs=1)
    settings.SEARCH_CONFIG = "no_such_configuration"

    answer = auth_client.post(ADD, {"chat_id": str(chat.id), "question": "kestrel", "response": "r"}, format="json")

    assert answer.status_code == HTTPStatus.CREATED, answer.content
    assert answer.json()["position"] == 1
    chat.refresh_from_db()
    assert chat.branches.get().message_count == 2
    assert not SearchEntry.objects.filter(response_id=answer.json()["response_id"]).exists()
    assert "the pairs are counted without them" in caplog.text
    settings.SEARCH_CONFIG = "english"
    assert "[search_entry_missing]" in run("reconcile_content", "--grace", "0")
    assert "repaired: 1" in run("reconcile_content", "--grace", "0", "--fix")
    assert found(auth_client, "kestrel") == [answer.json()["response_id"]]
