"""export_chat and import_chat in ChatGPT's format, through call_command
(our own format's commands: branches/tests/test_commands.py)."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from chats.models import Chat
from chats.tests.factories import ChatFactory

from .conversations import chain, conversation, shape

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue()


def test_chatgpt_export_and_import_on_the_command_line(user, other_user, tmp_path):
    chat = ChatFactory(owner=user, title="Owls", pairs=2)
    path = tmp_path / "conversations.json"
    run("export_chat", str(chat.id), "--format", "chatgpt", "--output", str(path))

    output = run("import_chat", str(path), "--owner", other_user.username, "--format", "chatgpt")

    copy = Chat.objects.get(owner=other_user)
    assert output.splitlines() == [
        f"Imported chat {copy.id}: 1 branches, 2 pairs, for {other_user.username}.",
        "imported: 1, skipped: 0",
    ]
    assert shape(copy.id) == {
        "title": "Owls",
        "active": "main",
        "branches": [("main", None, 0, [("q0", "r0", "complete"), ("q1", "r1", "complete")])],
    }
    assert json.loads(path.read_text())[0]["conversation_id"] == str(chat.id)


def test_import_reports_what_it_skipped_and_has_no_size_limit(user, tmp_path, settings):
    settings.IMPORT_MAX_BYTES, settings.IMPORT_MAX_CONVERSATIONS = 100, 1
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([
        conversation(chain("q", "a" * 500), title="Long"),
        conversation([], title="Empty", current="root"),
    ]))

    dry = run("import_chat", str(path), "--owner", user.username, "--dry-run")
    output = run("import_chat", str(path), "--owner", user.username)

    assert dry.splitlines() == [
        f"dry run: would import 'Long': 1 branches, 1 pairs, for {user.username}",
        "dry run: would skip 'Empty': no_pairs: [1]: the conversation holds no question",
    ]
    assert output.splitlines()[1:] == [
        "Skipped 'Empty': no_pairs: [1]: the conversation holds no question",
        "imported: 1, skipped: 1",
    ]
    assert Chat.objects.filter(owner=user).count() == 1


def test_import_refuses_a_file_of_the_other_format(user, tmp_path):
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([conversation(chain("q", "a"))]))

    with pytest.raises(CommandError, match="is a chatgpt file, not json"):
        run("import_chat", str(path), "--owner", user.username, "--format", "json")
    assert not Chat.objects.exists()
