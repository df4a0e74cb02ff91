"""reconcile_content, export_chat and import_chat, through call_command."""

import json
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from branches import services as branch_services
from chats import content_repository
from chats.models import Branch, Chat
from chats.tests.factories import ChatFactory
from chats.tests.stores import raw_buckets

from .routes import GET_BRANCHES

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def run_both(*args):
    """(stdout, stderr) of a command."""
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def pairs(chat, branch_id):
    return content_repository.read_all_pairs(chat_id=chat.id, branch_id=branch_id)


@pytest.fixture
def tree(user, settings):
    """A chat with several buckets on its root and two levels of branches."""
    settings.CONTENT_BUCKET_SIZE = 2
    chat = ChatFactory(owner=user, title="Tree", pairs=5)
    root = pairs(chat, chat.active_branch_id)
    first, _ = branch_services.branch_create(
        user=user, chat_id=chat.id, response_id=root[2].response_id, name="first", question="f0", response="f0"
    )
    second, _ = branch_services.branch_create(
        user=user, chat_id=chat.id, response_id=pairs(chat, first.id)[0].response_id, name="second",
        question="s0", response="s0", activate=False,
    )
    branch_services.branch_create(user=user, chat_id=chat.id, response_id=None, name="fresh", activate=False)
    chat.refresh_from_db()
    return chat, first, second


def test_reconcile_finds_nothing_in_healthy_data(tree):
    output = run("reconcile_content", "--grace", "0")

    assert output.splitlines()[-1] == "problems found: 0"


def test_reconcile_finds_and_fixes_every_kind_of_damage(tree, user):
    chat, first, second = tree
    root_id = Branch.objects.get(chat=chat, parent__isnull=True).id
    buckets = raw_buckets()
    # Content whose chat is gone, and content whose branch is gone.
    ghost_chat = uuid.uuid4()
    content_repository.append_pair(chat_id=ghost_chat, branch_id=uuid.uuid4(), question="q", response="r")
    ghost_branch = uuid.uuid4()
    content_repository.append_pair(chat_id=chat.id, branch_id=ghost_branch, question="q", response="r")
    # A gap in the root's bucket numbers.
    buckets.update_one({"chat_id": str(chat.id), "branch_id": str(root_id), "seq": 2}, {"$set": {"seq": 7}})
    # A fork list naming a branch that does not exist, and one missing its branch.
    fork_pair = pairs(chat, root_id)[0].response_id
    content_repository.add_fork(chat_id=chat.id, holder_branch_id=root_id, response_id=fork_pair, branch_id=uuid.uuid4())
    content_repository.remove_fork(
        chat_id=chat.id, holder_branch_id=first.id, response_id=second.fork_response_id, branch_id=second.id
    )
    # A branch whose fork pair is gone (its creation crashed half-way).
    lost = Branch.objects.create(chat=chat, parent=first, fork_response_id=uuid.uuid4(), fork_position=4, name="lost")
    # A counter that missed an append.
    Branch.objects.filter(pk=first.pk).update(message_count=9)

    found = run("reconcile_content", "--grace", "0")
    fixed = run("reconcile_content", "--grace", "0", "--fix")
    again = run("reconcile_content", "--grace", "0")

    assert found.splitlines()[-1] == "problems found: 7"
    for kind in (
        "orphan_chat_content", "orphan_branch_content", "buckets_out_of_sequence", "stale_fork_entry",
        "missing_fork_entry", "missing_fork_pair", "message_count_mismatch",
    ):
        assert f"[{kind}]" in found
    assert fixed.splitlines()[-1] == "repaired: 7"
    assert again.splitlines()[-1] == "problems found: 0"
    assert buckets.count_documents({"chat_id": str(ghost_chat)}) == 0
    assert buckets.count_documents({"branch_id": str(ghost_branch)}) == 0
    assert [b["seq"] for b in buckets.find({"branch_id": str(root_id)}).sort("seq", 1)] == [0, 1, 2]
    assert not Branch.objects.filter(pk=lost.pk).exists()
    assert Branch.objects.get(pk=first.pk).message_count == 1
    assert pairs(chat, first.id)[0].branches == [str(second.id)]
    assert pairs(chat, root_id)[0].branches == []


def test_reconcile_dry_run_with_fix_changes_nothing(tree):
    chat, first, _ = tree
    Branch.objects.filter(pk=first.pk).update(message_count=9)

    output = run("reconcile_content", "--grace", "0", "--fix", "--dry-run")

    assert "problems found: 1" in output
    assert "would repair 1" in output
    assert Branch.objects.get(pk=first.pk).message_count == 9


def test_reconcile_of_one_chat_and_bad_ids(tree):
    chat, first, _ = tree
    Branch.objects.filter(pk=first.pk).update(message_count=9)
    other = ChatFactory(owner=chat.owner)
    Branch.objects.filter(chat=other).update(message_count=3)

    assert run("reconcile_content", "--grace", "0", "--chat", str(other.id)).splitlines()[-1] == "problems found: 1"
    with pytest.raises(CommandError, match="not a UUID"):
        run("reconcile_content", "--grace", "0", "--chat", "nope")
    with pytest.raises(CommandError, match="No chat"):
        run("reconcile_content", "--grace", "0", "--chat", str(uuid.uuid4()))


def test_reconcile_shows_progress_on_stderr_and_ends_stdout_with_its_summary(tree):
    chat, first, _ = tree
    Branch.objects.filter(pk=first.pk).update(message_count=9)

    out, err = run_both("reconcile_content", "--grace", "0", "--fix")

    assert out.splitlines() == [
        f"[message_count_mismatch] chat {chat.id}: branch {first.id}: message_count 9, content holds 1",
        "  a branch's message_count disagrees with its content: 1",
        "problems found: 1",
        "repaired: 1",
    ]
    assert err.splitlines() == ["checking chats: 1/1", "repairing chats: 1/1"]


def test_reconcile_fix_is_served_by_the_api_at_once(tree, auth_client):
    """Repairs go through the services' write paths, which invalidate the
    cache: a read cached before the repair is not served after it."""
    chat, first, _ = tree
    Branch.objects.filter(pk=first.pk).update(message_count=9)  # damage that bumped nothing
    counts = lambda: {  # noqa: E731
        b["branch_id"]: b["message_count"]
        for b in auth_client.get(GET_BRANCHES, {"chat_id": str(chat.id)}).json()["branches"]
    }
    assert counts()[str(first.id)] == 9  # now cached

    run("reconcile_content", "--grace", "0", "--fix")

    assert counts()[str(first.id)] == 1


def normalized(export):
    """An export with ids replaced by their order of appearance: two exports
    of the same tree compare equal whatever ids they were given."""
    names = {}

    def alias(value):
        return None if value is None else names.setdefault(value, f"id{len(names)}")

    return {
        "chat": {k: v for k, v in export["chat"].items() if k not in ("id", "owner")},
        "branches": [
            {
                "id": alias(b["id"]),
                "name": b["name"],
                "parent": alias(b["parent_id"]),
                "fork": alias(b["fork_response_id"]),
                "fork_position": b["fork_position"],
                "created_at": b["created_at"],
                "pairs": [{**p, "response_id": alias(p["response_id"])} for p in b["pairs"]],
            }
            for b in export["branches"]
        ],
        "active_branch": next(i for i, b in enumerate(export["branches"]) if b["id"] == export["active_branch_id"]),
    }


def test_export_holds_the_whole_tree(tree):
    chat, first, second = tree

    export = json.loads(run("export_chat", str(chat.id)))

    assert (export["format"], export["version"]) == ("branching-chat", 1)
    assert export["active_branch_id"] == str(first.id)
    # Parents before children, each level by creation.
    assert [(b["name"], b["fork_position"], len(b["pairs"])) for b in export["branches"]] == [
        ("main", 0, 5), ("first", 3, 1), ("fresh", 0, 0), ("second", 4, 1)
    ]
    assert export["branches"][3]["parent_id"] == str(first.id)
    assert export["branches"][1]["fork_response_id"] == export["branches"][0]["pairs"][2]["response_id"]
    assert [p["question"] for p in export["branches"][0]["pairs"]] == ["q0", "q1", "q2", "q3", "q4"]


def test_export_import_export_gives_the_same_tree(tree, other_user, tmp_path):
    chat, _, _ = tree
    # Locked and hidden: both flags travel, so restoring the copy leaves it locked.
    Chat.objects.filter(pk=chat.pk).update(locked=True, hidden=True)
    Branch.objects.filter(chat=chat, parent__isnull=True).update(name="trunk")
    path = tmp_path / "chat.json"
    run("export_chat", str(chat.id), "--output", str(path))

    output, progress = run_both("import_chat", str(path), "--owner", other_user.username)

    imported = Chat.objects.get(owner=other_user)
    assert progress.splitlines() == ["conversations imported: 1/1"]
    assert output.splitlines() == [
        f"Imported chat {imported.id}: 4 branches, 7 pairs, for {other_user.username}.",
        "imported: 1, skipped: 0",
    ]
    first, second = json.loads(path.read_text()), json.loads(run("export_chat", str(imported.id)))
    assert second["chat"]["owner"] == other_user.username
    assert {b["id"] for b in second["branches"]}.isdisjoint({b["id"] for b in first["branches"]})
    assert normalized(second) == normalized(first)
    assert (second["chat"]["status"], second["chat"]["locked"], second["chat"]["hidden"]) == ("hidden", True, True)
    assert run("reconcile_content", "--grace", "0").splitlines()[-1] == "problems found: 0"


def test_import_of_an_export_without_flags_takes_them_from_its_status(tree, other_user, tmp_path):
    chat, _, _ = tree
    export = json.loads(run("export_chat", str(chat.id)))
    del export["chat"]["locked"], export["chat"]["hidden"]
    export["chat"]["status"] = "locked"
    path = tmp_path / "old.json"
    path.write_text(json.dumps(export))

    run("import_chat", str(path), "--owner", other_user.username)

    imported = Chat.objects.get(owner=other_user)
    assert (imported.locked, imported.hidden, imported.status) == (True, False, "locked")


def test_import_dry_run_creates_nothing(tree, other_user, tmp_path):
    chat, _, _ = tree
    path = tmp_path / "chat.json"
    path.write_text(run("export_chat", str(chat.id)))

    output = run("import_chat", str(path), "--owner", other_user.username, "--dry-run")

    assert output.strip() == f"dry run: would import 'Tree': 4 branches, 7 pairs, for {other_user.username}"
    assert not Chat.objects.filter(owner=other_user).exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not JSON"),
        ('{"format": "other"}', "neither a branching-chat export"),
        ('{"format": "branching-chat", "version": 1, "branches": []}', "exactly one root branch"),
        ('{"format": "branching-chat", "version": 1, "branches": [{"id": "x"}]}', "malformed export"),
    ],
)
def test_import_refuses_bad_files(user, tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)

    with pytest.raises(CommandError, match=message):
        run("import_chat", str(path), "--owner", user.username)
    assert not Chat.objects.exists()


def test_import_needs_an_existing_owner_and_file(tree, tmp_path):
    chat, _, _ = tree
    path = tmp_path / "chat.json"
    path.write_text(run("export_chat", str(chat.id)))

    with pytest.raises(CommandError, match="No user named 'ghost'"):
        run("import_chat", str(path), "--owner", "ghost")
    with pytest.raises(CommandError, match="Cannot read"):
        run("import_chat", str(tmp_path / "missing.json"), "--owner", chat.owner.username)


def test_export_markdown_is_the_active_path(tree):
    chat, _, _ = tree

    text = run("export_chat", str(chat.id), "--format", "markdown")

    assert text.startswith("# Tree\n\nBranch **first** · 4 pairs · active\n")
    assert [line for line in text.splitlines() if line.endswith("Question")] == [
        "## 1. Question", "## 2. Question", "## 3. Question", "## 4. Question"
    ]
    assert "\nq2\n" in text and "\nf0\n" in text and "\nq3\n" not in text


def test_export_refuses_unknown_chats():
    with pytest.raises(CommandError, match="No chat"):
        run("export_chat", str(uuid.uuid4()))
    with pytest.raises(CommandError, match="not a UUID"):
        run("export_chat", "nope")


def test_reconcile_rebuilds_a_buckets_id_list_from_its_pairs(tree):
    chat, first, _ = tree
    buckets = raw_buckets()
    buckets.update_one({"chat_id": str(chat.id), "branch_id": str(first.id)}, {"$set": {"response_ids": []}})

    found = run("reconcile_content", "--grace", "0")
    run("reconcile_content", "--grace", "0", "--fix")

    assert "[buckets_out_of_sequence]" in found and found.splitlines()[-1] == "problems found: 1"
    assert run("reconcile_content", "--grace", "0").splitlines()[-1] == "problems found: 0"
    stored = buckets.find_one({"chat_id": str(chat.id), "branch_id": str(first.id)})
    assert stored["response_ids"] == [p["response_id"] for p in stored["qa_pairs"]]


def test_reconcile_leaves_content_written_within_the_grace_period_alone(tree):
    chat, first, _ = tree
    # An append whose counting has not committed yet looks like this.
    content_repository.append_pair(chat_id=chat.id, branch_id=first.id, question="in flight", response="r")
    ghost = uuid.uuid4()
    content_repository.append_pair(chat_id=ghost, branch_id=uuid.uuid4(), question="being created", response="r")

    recent = run("reconcile_content", "--fix")
    later = run("reconcile_content", "--grace", "0")

    assert recent.splitlines()[-2:] == ["problems found: 0", "repaired: 0"]
    # The content of no chat, the uncounted pair, and that pair missing from the search index.
    assert "problems found: 3" in later
    assert "[search_entry_missing]" in later
    assert len(pairs(chat, first.id)) == 2


def test_reconcile_refuses_a_negative_grace():
    with pytest.raises(CommandError, match="--grace"):
        run("reconcile_content", "--grace", "-1")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timestamp", 123, "is not a timestamp"),
        ("timestamp", "0001-01-01T00:00:00+05:00", "is not a timestamp"),
        ("timestamp", "2026-01-01T00:00:00", "has no offset"),
        ("question", "nul \x00 inside", "without NUL"),
    ],
)
def test_import_refuses_bad_values_before_writing_anything(tree, other_user, tmp_path, field, value, message):
    chat, _, _ = tree
    export = json.loads(run("export_chat", str(chat.id)))
    export["branches"][0]["pairs"][1][field] = value
    path = tmp_path / "chat.json"
    path.write_text(json.dumps(export))

    with pytest.raises(CommandError, match=message):
        run("import_chat", str(path), "--owner", other_user.username)
    assert not Chat.objects.filter(owner=other_user).exists()


def test_export_lists_parents_before_children_whatever_their_times(tree, other_user, tmp_path):
    chat, first, second = tree
    # A child stamped before its parent (clocks of two app servers out of step).
    Branch.objects.filter(pk=second.pk).update(created_at=first.created_at - timedelta(seconds=5))
    path = tmp_path / "chat.json"
    run("export_chat", str(chat.id), "--output", str(path))

    names = [b["name"] for b in json.loads(path.read_text())["branches"]]
    run("import_chat", str(path), "--owner", other_user.username)

    assert names.index("first") < names.index("second")
    assert Chat.objects.filter(owner=other_user).count() == 1
