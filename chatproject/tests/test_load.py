"""Load without loss: concurrent mixed writes to one chat keep every write
exactly once and every invariant of the data model."""

import random
import threading
from collections import Counter
from http import HTTPStatus
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from accounts.tests.factories import UserFactory
from chatproject.testing import client_for
from chats import content_repository
from chats.models import Branch, Chat
from chats.tests.factories import ChatFactory

THREADS, WRITES = 4, 50


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_mixed_concurrent_writes_lose_nothing_and_keep_the_invariants(settings):
    settings.CONTENT_BUCKET_SIZE = 5
    owner = UserFactory()
    chat = ChatFactory(owner=owner, pairs=3)
    root_id = str(chat.active_branch_id)
    seed_pairs = [p.response_id for p in content_repository.read_all_pairs(chat_id=chat.id, branch_id=root_id)]
    lock = threading.Lock()
    known = {"branches": [root_id], "pairs": list(seed_pairs)}
    appended, created, renamed, activated, failures = [], [], {}, [], []
    barrier = threading.Barrier(THREADS)

    def worker(n):
        rng = random.Random(n)
        client = client_for(owner)
        try:
            barrier.wait()
            for i in range(WRITES):
                with lock:
                    branch = rng.choice(known["branches"])
                    pair = rng.choice(known["pairs"])
                kind = rng.choice(["append", "append", "branch", "rename", "activate"])
                ids = {"chat_id": str(chat.id), "branch_id": branch}
                if kind == "append":
                    response = client.post(
                        reverse("messages-add-message"), {**ids, "question": f"{n}-{i}", "response": "r"}, format="json"
                    )
                    if response.status_code == HTTPStatus.CREATED:
                        body = response.json()
                        with lock:
                            appended.append((body["branch_id"], body["response_id"], f"{n}-{i}"))
                            known["pairs"].append(body["response_id"])
                elif kind == "branch":
                    response = client.post(
                        reverse("branches-create-branch"),
                        {"chat_id": str(chat.id), "response_id": pair, "question": f"{n}-{i}", "response": "r"},
                        format="json",
                    )
                    if response.status_code == HTTPStatus.CREATED:
                        with lock:
                            created.append(response.json()["branch_id"])
                            known["branches"].append(response.json()["branch_id"])
                elif kind == "rename":
                    response = client.put(reverse("branches-rename-branch"), {**ids, "name": f"{n}-{i}"}, format="json")
                    if response.status_code == HTTPStatus.OK:
                        with lock:
                            renamed.setdefault(branch, set()).add(f"{n}-{i}")
                else:
                    response = client.put(reverse("branches-set-active-branch"), ids, format="json")
                    if response.status_code == HTTPStatus.OK:
                        with lock:
                            activated.append(branch)
                if response.status_code not in (HTTPStatus.OK, HTTPStatus.CREATED):
                    failures.append((kind, response.status_code, response.content[:200]))
        except Exception as exc:  # reported by the assertion below
            failures.append(("exception", repr(exc)))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert failures == []
    assert len(appended) + len(created) + sum(map(len, renamed.values())) + len(activated) == THREADS * WRITES
    branches = {str(b.id): b for b in Branch.objects.filter(chat=chat)}
    assert set(branches) == {root_id, *created}
    # Every append is stored once, in the branch it reported, and nowhere else.
    stored = Counter()
    for branch_id in branches:
        pairs = content_repository.read_all_pairs(chat_id=chat.id, branch_id=branch_id)
        assert [p.index for p in pairs] == list(range(len(pairs)))
        stored.update((branch_id, p.response_id, p.question) for p in pairs)
    for entry in appended:
        assert stored[entry] == 1, entry
    # Every created branch has exactly its first pair plus the appends it took.
    for branch_id in created:
        own = [e for e in appended if e[0] == branch_id]
        assert branches[branch_id].message_count == 1 + len(own)
    for branch_id, names in renamed.items():
        assert branches[branch_id].name in names
    assert str(Chat.objects.get(pk=chat.pk).active_branch_id) in {*activated, *created, root_id}
    out = StringIO()
    call_command("reconcile_content", "--grace", "0", stdout=out)
    assert out.getvalue().splitlines()[-1] == "problems found: 0"
