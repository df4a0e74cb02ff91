"""A restart on the in-process content stand-in: the chats whose pairs died with
the previous process are deleted at start-up, and the log says which."""

import logging
import os
import subprocess
import sys
from http import HTTPStatus
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from branches import services as branch_services
from chats import content_repository
from chats.ephemeral import (
    drop_chats_without_content,
    drop_chats_without_content_at_start,
)
from chats.models import Branch, Chat
from chats.tests.stores import drop_all_content

from .factories import ChatFactory

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def restart_content_store():
    """What a new process sees: the stand-in starts empty."""
    drop_all_content()


def test_chats_whose_content_is_gone_are_deleted_with_their_branches(user, other_user):
    lost = ChatFactory(owner=user, title="lost", pairs=2)
    first = content_repository.read_all_pairs(chat_id=lost.id, branch_id=lost.active_branch_id)[0]
    branch_services.branch_create(user=user, chat_id=lost.id, response_id=first.response_id, activate=False)
    also_lost = ChatFactory(owner=other_user, title="also lost", pairs=1)
    empty = ChatFactory(owner=user, title="never had pairs")
    restart_content_store()

    dropped = drop_chats_without_content()

    assert sorted(dropped) == sorted(
        [
            (str(lost.id), "lost", user.username, 2),
            (str(also_lost.id), "also lost", other_user.username, 1),
        ]
    )
    assert list(Chat.objects.values_list("title", flat=True)) == ["never had pairs"]
    assert list(Branch.objects.values_list("chat_id", flat=True)) == [empty.id]
    assert get_user_model().objects.count() == 2


def test_chats_whose_content_is_there_are_kept(user):
    kept = ChatFactory(owner=user, pairs=2)

    assert drop_chats_without_content() == []
    assert list(Chat.objects.values_list("id", flat=True)) == [kept.id]


def test_a_dropped_chat_is_gone_from_the_api_and_its_cache(user, auth_client):
    chat = ChatFactory(owner=user, pairs=1)
    get_chat = reverse("chats-get-chat")
    assert auth_client.get(get_chat, {"chat_id": str(chat.id)}).status_code == HTTPStatus.OK  # now cached
    restart_content_store()

    drop_chats_without_content()

    assert auth_client.get(get_chat, {"chat_id": str(chat.id)}).status_code == HTTPStatus.NOT_FOUND


def test_start_up_says_what_was_dropped(user, caplog):
    chat = ChatFactory(owner=user, title="gone", pairs=1)
    restart_content_store()

    with caplog.at_level(logging.WARNING, logger="chats.ephemeral"):
        drop_chats_without_content_at_start()

    assert caplog.messages == [
        "Deleted 1 chats (1 branches) whose messages were in the in-process MongoDB stand-in "
        f"and did not survive the restart; accounts are kept:\n  {chat.id}  'gone' of {user.username} (1 branches)"
    ]


def test_nothing_is_dropped_on_a_real_mongodb(user, mongo_down):
    # A real driver (here pointed at a closed port): the store is never asked,
    # and no chat is touched, whatever it would answer.
    ChatFactory(owner=user, pairs=0)
    Branch.objects.update(message_count=1)

    assert drop_chats_without_content() == []
    assert Chat.objects.count() == 1


def test_a_server_restarted_on_the_embedded_defaults_drops_the_lost_chats(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "MONGODB_URI", "REDIS_URL"}},
        "DJANGO_SETTINGS_MODULE": "chatproject.settings.local",
        "ENV_FILE": "/dev/null",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }

    def run(*args):
        result = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result

    run("manage.py", "migrate", "--noinput")
    # A first server process: an account, a chat with a pair, an empty chat.
    run(
        "-c",
        "import django; django.setup(); from accounts.services import user_create; "
        "from chats.services import chat_create; "
        "u = user_create(username='ann', password='correct-horse-battery-staple'); "
        "chat_create(user=u, title='had pairs', question='q', response='r'); chat_create(user=u, title='empty')",
    )
    # The next server process (runserver and gunicorn load chatproject.wsgi).
    started = run(
        "-c",
        "import chatproject.wsgi; from chats.models import Chat; from accounts.models import User; "
        "print(sorted(Chat.objects.values_list('title', flat=True)), User.objects.count())",
    )

    assert started.stdout.strip() == "['empty'] 1"
    assert "Deleted 1 chats (1 branches) whose messages were in the in-process MongoDB stand-in" in started.stderr
    assert "'had pairs' of ann (1 branches)" in started.stderr
