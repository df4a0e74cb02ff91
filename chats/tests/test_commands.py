"""ensure_indexes, chat_stats and purge_chats, through call_command."""

import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from chats import content_repository
from chats.documents import ContentBucket
from chats.models import Chat

from .factories import ChatFactory

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_ensure_indexes_creates_them_and_is_idempotent():
    first, second = run("ensure_indexes"), run("ensure_indexes")

    assert first == second
    assert first.splitlines() == [
        "  _id_",
        "  chat_branch_seq_unique",
        "  chat_id",
        "  chat_response_id",
        "4 indexes present on database 'chat_test'.",
    ]


def test_ensure_indexes_dry_run_lists_without_creating():
    ContentBucket._get_collection().drop()

    output = run("ensure_indexes", "--dry-run")

    assert output.splitlines()[-1] == "dry run: 0 indexes exist on 'chat_test', none created"


def test_ensure_indexes_fails_when_mongodb_is_unreachable(mongo_down):
    with pytest.raises(CommandError, match="MongoDB is unreachable"):
        run("ensure_indexes")


def test_chat_stats_counts_everything_and_lists_the_largest(user, other_user):
    big = ChatFactory(owner=user, title="big", pairs=5)
    ChatFactory(owner=other_user, title="small", pairs=1)
    locked = ChatFactory(owner=other_user, title="empty")
    Chat.objects.filter(pk=locked.pk).update(locked=True)

    lines = run("chat_stats", "--top", "2").splitlines()

    assert lines[:5] == [
        "users:    2",
        "chats:    3 (active 2, locked 1, hidden 0)",
        "branches: 3",
        "pairs:    6",
        "largest chats (by pairs):",
    ]
    assert lines[5].split() == ["5", "pairs", "1", "branches", str(big.id), user.username, "'big'"]
    assert len(lines) == 7


def test_purge_needs_a_filter():
    with pytest.raises(CommandError, match="Give at least one of"):
        run("purge_chats")


def test_purge_refuses_unknown_owner_and_bad_status(user):
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        run("purge_chats", "--owner", "ghost")
    with pytest.raises(CommandError):
        run("purge_chats", "--status", "deleted")


def test_purge_exits_non_zero_from_the_command_line():
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "chatproject.settings.test"}

    result = subprocess.run(
        [sys.executable, "manage.py", "purge_chats"], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 1
    assert "CommandError: Give at least one of --owner, --older-than, --status." in result.stderr


def test_purge_dry_run_deletes_nothing(user):
    ChatFactory(owner=user, pairs=2)

    output = run("purge_chats", "--owner", user.username, "--dry-run")

    assert output.splitlines()[0] == "dry run: would delete 1 chats (2 pairs)"
    assert Chat.objects.count() == 1


def test_purge_by_inactivity_and_status_deletes_content_too(user, other_user):
    stale = ChatFactory(owner=user, title="stale", pairs=2)
    Chat.objects.filter(pk=stale.pk).update(updated_at=timezone.now() - timedelta(days=40))
    fresh = ChatFactory(owner=user, title="fresh", pairs=1)
    hidden = ChatFactory(owner=other_user, title="hidden", pairs=1)
    Chat.objects.filter(pk=hidden.pk).update(hidden=True)

    by_age = run("purge_chats", "--older-than", "30")
    by_status = run("purge_chats", "--status", "hidden")

    assert by_age.splitlines()[-1] == "deleted 1 chats (2 pairs)"
    assert by_status.splitlines()[-1] == "deleted 1 chats (1 pairs)"
    assert list(Chat.objects.values_list("title", flat=True)) == ["fresh"]
    assert content_repository.read_all_pairs(chat_id=stale.id, branch_id=stale.active_branch_id) == []
    assert len(content_repository.read_all_pairs(chat_id=fresh.id, branch_id=fresh.active_branch_id)) == 1


def test_purge_shows_progress_counts_and_a_summary(user):
    for _ in range(3):
        ChatFactory(owner=user)

    output = run("purge_chats", "--owner", user.username)

    assert output.splitlines() == ["deleting: 1/3", "deleting: 2/3", "deleting: 3/3", "deleted 3 chats (0 pairs)"]
