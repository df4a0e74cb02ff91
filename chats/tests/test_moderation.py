"""The moderation service: locking and hiding are independent, and every way
in (admin actions, the chat's form, commands) follows the same rules."""

from http import HTTPStatus
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from chatproject.testing import client_for
from chats import services
from chats.models import Chat
from chats.services import Moderation

from .factories import ChatFactory
from .routes import ADD, GET

pytestmark = pytest.mark.django_db


def moderate(chat, *actions):
    return [services.chat_moderate(chat_id=chat.pk, action=action) for action in actions]


def owner_sees(user, chat):
    """(status of a read, status of a write) for the chat's owner."""
    api = client_for(user)
    read = api.get(GET, {"chat_id": str(chat.id)})
    write = api.post(ADD, {"chat_id": str(chat.id), "question": "q", "response": "r"}, format="json")
    return read.status_code, write.status_code, read.json().get("status")


def test_lock_hide_restore_leaves_the_chat_locked(user):
    chat = ChatFactory(owner=user, pairs=1)

    results = moderate(chat, Moderation.LOCK, Moderation.HIDE, Moderation.RESTORE)

    assert [(r.status_before, r.status_after) for r in results] == [
        ("active", "locked"),
        ("locked", "hidden"),
        ("hidden", "locked"),
    ]
    assert owner_sees(user, chat) == (HTTPStatus.OK, HTTPStatus.CONFLICT, "locked")


def test_locking_or_unlocking_a_hidden_chat_leaves_it_hidden(user):
    chat = ChatFactory(owner=user, pairs=1)
    moderate(chat, Moderation.HIDE)

    locked = moderate(chat, Moderation.LOCK)[0]
    assert (locked.changed, locked.status_after) == (True, "hidden")
    assert owner_sees(user, chat)[:2] == (HTTPStatus.NOT_FOUND, HTTPStatus.NOT_FOUND)
    unlocked = moderate(chat, Moderation.UNLOCK)[0]
    assert (unlocked.changed, unlocked.status_after) == (True, "hidden")

    moderate(chat, Moderation.RESTORE)
    assert owner_sees(user, chat) == (HTTPStatus.OK, HTTPStatus.CREATED, "active")


@pytest.mark.parametrize(
    ("setup", "action", "reason"),
    [
        ([Moderation.LOCK], Moderation.LOCK, "already locked"),
        ([], Moderation.UNLOCK, "not locked"),
        ([Moderation.HIDE], Moderation.HIDE, "already hidden"),
        ([Moderation.LOCK], Moderation.RESTORE, "not hidden"),
    ],
)
def test_an_action_that_changes_nothing_says_why(user, setup, action, reason):
    chat = ChatFactory(owner=user)
    moderate(chat, *setup)
    before = Chat.objects.get(pk=chat.pk)

    result = moderate(chat, action)[0]

    assert (result.changed, result.reason) == (False, reason)
    after = Chat.objects.get(pk=chat.pk)
    assert (after.locked, after.hidden, after.updated_at) == (before.locked, before.hidden, before.updated_at)


def test_moderation_invalidates_the_owners_cached_reads_and_keeps_activity(user):
    chat = ChatFactory(owner=user, pairs=1)
    api = client_for(user)
    before = api.get(GET, {"chat_id": str(chat.id)}).json()  # cached now

    moderate(chat, Moderation.LOCK)
    locked = api.get(GET, {"chat_id": str(chat.id)}).json()
    moderate(chat, Moderation.UNLOCK)

    assert locked == {**before, "status": "locked"}
    assert api.get(GET, {"chat_id": str(chat.id)}).json() == before


def test_moderating_a_chat_that_is_gone_raises(user):
    chat = ChatFactory(owner=user)
    services.chat_delete(chat=chat)

    with pytest.raises(Chat.DoesNotExist):
        services.chat_moderate(chat_id=chat.pk, action=Moderation.LOCK)


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_what_each_chat_showed(user):
    executor = MigrationExecutor(connection)
    executor.migrate([("chats", "0004_branch_optional_fields")])
    old_apps = executor.loader.project_state([("chats", "0004_branch_optional_fields")]).apps
    OldChat = old_apps.get_model("chats", "Chat")
    ids = {}
    for status in ("active", "locked", "hidden"):
        ids[status] = OldChat.objects.create(owner_id=user.pk, title=status, status=status).pk

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    rows = {c.title: (c.locked, c.hidden, c.status) for c in Chat.objects.filter(pk__in=ids.values())}
    assert rows == {
        "active": (False, False, "active"),
        "locked": (True, False, "locked"),
        "hidden": (False, True, "hidden"),
    }


def run(*args):
    out = StringIO()
    call_command("moderate_chats", *args, stdout=out)
    return out.getvalue()


def test_the_command_moderates_through_the_same_rules(user):
    first, second = ChatFactory(owner=user), ChatFactory(owner=user)
    moderate(first, Moderation.LOCK)

    hidden = run("hide", str(first.pk), str(second.pk))
    again = run("hide", str(first.pk))
    restored = run("restore", str(first.pk))

    assert hidden.splitlines() == [f"  {first.pk}: locked → hidden", f"  {second.pk}: active → hidden", "hidden: 2, skipped: 0"]
    assert again.splitlines() == [f"  {first.pk}: skipped, already hidden", "hidden: 0, skipped: 1"]
    assert restored.splitlines() == [f"  {first.pk}: hidden → locked", "restored: 1, skipped: 0"]
    assert owner_sees(user, first) == (HTTPStatus.OK, HTTPStatus.CONFLICT, "locked")


def test_the_command_dry_run_changes_nothing(user):
    chat = ChatFactory(owner=user)

    output = run("lock", str(chat.pk), "--dry-run")

    assert output.splitlines() == [f"  {chat.pk}: active → locked", "dry run: would be locked: 1, skipped: 0"]
    assert Chat.objects.get(pk=chat.pk).status == "active"


def test_the_command_refuses_unknown_chats_before_changing_any(user):
    chat = ChatFactory(owner=user)
    unknown = "6f1c2a4e-93b5-4d7e-8a0c-2b9e5d3f7a14"

    with pytest.raises(CommandError, match=f"No chat with id {unknown}; nothing changed."):
        run("lock", str(chat.pk), unknown)
    with pytest.raises(CommandError, match="Not a chat id"):
        run("lock", "not-a-uuid")

    assert Chat.objects.get(pk=chat.pk).locked is False
