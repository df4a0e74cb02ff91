"""Branching through the API: forks, paths across them, and every branch route."""

import threading
import uuid
from http import HTTPStatus

import pytest
from django.db import connection

from accounts.tests.factories import UserFactory
from chatproject.api.formats import iso_datetime
from chatproject.testing import client_for, error
from chats import content_repository
from chats.models import Branch, Chat
from chats.tests.factories import ChatFactory
from chats.tests.routes import ADD, GET, MESSAGES
from chats.tests.stores import raw_buckets

from .routes import CREATE_BRANCH, DELETE_BRANCH, GET_BRANCHES, RENAME, SET_ACTIVE

pytestmark = [pytest.mark.django_db, pytest.mark.chat_pairs(5)]


def path(client, chat, branch_id=None, limit=1000, **params):
    query = {"chat_id": str(chat.id), "limit": limit, **params}
    if branch_id:
        query["branch_id"] = str(branch_id)
    response = client.get(GET, query)
    assert response.status_code == HTTPStatus.OK, response.content
    return response.json()


def questions(page):
    return [(m["question"], m["position"]) for m in page["messages"]]


def fork(client, chat, response_id, **body):
    response = client.post(
        CREATE_BRANCH, {"chat_id": str(chat.id), "response_id": response_id, **body}, format="json"
    )
    assert response.status_code == HTTPStatus.CREATED, response.content
    return response.json()


def add(client, chat, branch_id, question, response="r"):
    reply = client.post(
        ADD,
        {"chat_id": str(chat.id), "branch_id": str(branch_id), "question": question, "response": response},
        format="json",
    )
    assert reply.status_code == HTTPStatus.CREATED, reply.content
    return reply.json()


@pytest.fixture
def root_pairs(auth_client, chat):
    return path(auth_client, chat)["messages"]


def test_branch_after_a_root_pair_inherits_up_to_it(auth_client, chat, root_pairs):
    body = fork(auth_client, chat, root_pairs[2]["response_id"], name="alt")

    branch = Branch.objects.get(pk=body["branch_id"])
    assert body == {
        "branch_id": str(branch.id),
        "chat_id": str(chat.id),
        "name": "alt",
        "parent_branch_id": str(chat.active_branch_id),
        "fork_response_id": root_pairs[2]["response_id"],
        "fork_position": 3,
        "message_count": 0,
        "created_at": iso_datetime(branch.created_at),
        "is_active": True,
        "is_root": False,
        "messages": [],
    }
    add(auth_client, chat, branch.id, "b0")
    page = path(auth_client, chat)
    assert page["branch_id"] == str(branch.id)
    assert questions(page) == [("q0", 0), ("q1", 1), ("q2", 2), ("b0", 3)]
    assert [m["branch_id"] for m in page["messages"]] == [str(chat.active_branch_id)] * 3 + [str(branch.id)]
    assert page["messages"][2]["branches"] == [str(branch.id)]
    assert page["branch_count"] == 2


def test_a_new_branch_copies_no_content(auth_client, chat, root_pairs):
    documents = raw_buckets().count_documents({})

    fork(auth_client, chat, root_pairs[4]["response_id"])

    assert raw_buckets().count_documents({}) == documents


def test_branch_from_an_inherited_pair_is_parented_to_its_holder(auth_client, chat, root_pairs):
    root_id = str(chat.active_branch_id)
    first = fork(auth_client, chat, root_pairs[3]["response_id"])
    add(auth_client, chat, first["branch_id"], "a0")
    # Viewing `first`, the client branches from q1, which `first` only inherits.
    viewed = path(auth_client, chat, first["branch_id"])["messages"]

    second = fork(auth_client, chat, viewed[1]["response_id"], question="edited q2", response="new r2")

    assert (second["parent_branch_id"], second["fork_position"], second["message_count"]) == (root_id, 2, 1)
    assert questions(path(auth_client, chat, second["branch_id"])) == [("q0", 0), ("q1", 1), ("edited q2", 2)]


def test_branch_before_the_first_pair_inherits_nothing(auth_client, chat):
    body = fork(auth_client, chat, None, question="fresh start", response="ok")

    assert (body["parent_branch_id"], body["fork_response_id"], body["fork_position"]) == (
        str(chat.active_branch_id),
        None,
        0,
    )
    assert questions(path(auth_client, chat, body["branch_id"])) == [("fresh start", 0)]
    assert all(m["branches"] == [] for m in path(auth_client, chat, chat.active_branch_id)["messages"])


def test_three_levels_deep_over_several_buckets_reads_back_exactly(auth_client, user, settings):
    settings.CONTENT_BUCKET_SIZE = 3
    chat = ChatFactory(owner=user, pairs=10)
    root = path(auth_client, chat)["messages"]
    a = fork(auth_client, chat, root[6]["response_id"])
    for i in range(8):
        add(auth_client, chat, a["branch_id"], f"a{i}")
    a_path = path(auth_client, chat, a["branch_id"])["messages"]
    b = fork(auth_client, chat, a_path[7 + 4]["response_id"])
    for i in range(7):
        add(auth_client, chat, b["branch_id"], f"b{i}")

    expected = [f"q{i}" for i in range(7)] + [f"a{i}" for i in range(5)] + [f"b{i}" for i in range(7)]
    assert (a["fork_position"], b["fork_position"], b["parent_branch_id"]) == (7, 12, a["branch_id"])
    assert questions(path(auth_client, chat, b["branch_id"])) == [(q, i) for i, q in enumerate(expected)]

    seen, before = [], None
    while True:
        extra = {"before": before} if before else {}
        page = path(auth_client, chat, b["branch_id"], limit=4, **extra)
        seen = page["messages"] + seen
        if not page["has_more"]:
            break
        before = page["messages"][0]["response_id"]
    assert [(m["question"], m["position"]) for m in seen] == [(q, i) for i, q in enumerate(expected)]
    # The grandparent's and parent's own pairs beyond the forks stay theirs.
    assert questions(path(auth_client, chat, a["branch_id"]))[-1] == ("a7", 14)


def test_a_page_reads_one_content_call_per_branch_on_it(auth_client, user, settings):
    settings.CONTENT_BUCKET_SIZE = 3
    chat = ChatFactory(owner=user, pairs=30)
    root = path(auth_client, chat)["messages"]
    branch = fork(auth_client, chat, root[-1]["response_id"])
    add(auth_client, chat, branch["branch_id"], "own")

    calls = content_repository.calls()
    page = path(auth_client, chat, branch["branch_id"], limit=5)

    assert questions(page) == [("q26", 26), ("q27", 27), ("q28", 28), ("q29", 29), ("own", 30)]
    assert content_repository.calls() - calls == 2


def test_edit_and_regenerate_list_both_alternatives_at_the_fork(auth_client, chat, root_pairs):
    k = 3
    # Edit pair k: a different question after pair k-1.
    edit = fork(auth_client, chat, root_pairs[k - 1]["response_id"], question="q3, rephrased", response="r3'")
    # Regenerate pair k: the same question, a new response.
    regen = fork(auth_client, chat, root_pairs[k - 1]["response_id"], question="q3", response="another r3")

    page = path(auth_client, chat, chat.active_branch_id)
    assert page["messages"][k - 1]["branches"] == [edit["branch_id"], regen["branch_id"]]
    assert questions(path(auth_client, chat, edit["branch_id"]))[-1] == ("q3, rephrased", 3)
    regenerated = path(auth_client, chat, regen["branch_id"])["messages"][-1]
    assert (regenerated["question"], regenerated["response"], regenerated["position"]) == ("q3", "another r3", 3)


def test_set_active_branch_twice_is_200_and_get_chat_follows_it(auth_client, chat, root_pairs):
    branch = fork(auth_client, chat, root_pairs[1]["response_id"], activate=False)
    assert path(auth_client, chat)["branch_id"] == str(chat.active_branch_id)
    body = {"chat_id": str(chat.id), "branch_id": branch["branch_id"]}

    first = auth_client.put(SET_ACTIVE, body, format="json")
    second = auth_client.put(SET_ACTIVE, body, format="json")

    assert first.status_code == second.status_code == HTTPStatus.OK
    assert second.json()["active_branch_id"] == branch["branch_id"]
    assert second.json()["branch_count"] == 2
    assert path(auth_client, chat)["branch_id"] == branch["branch_id"]
    assert questions(path(auth_client, chat)) == [("q0", 0), ("q1", 1)]


def test_get_branches_lists_root_first_then_by_creation(auth_client, chat, root_pairs):
    one = fork(auth_client, chat, root_pairs[0]["response_id"], activate=False)
    two = fork(auth_client, chat, root_pairs[1]["response_id"], name="second")

    response = auth_client.get(GET_BRANCHES, {"chat_id": str(chat.id)})

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    root = Branch.objects.get(pk=chat.active_branch_id)
    assert body["chat_id"] == str(chat.id)
    assert body["active_branch_id"] == two["branch_id"]
    assert [(b["branch_id"], b["name"], b["is_active"], b["is_root"]) for b in body["branches"]] == [
        (str(root.id), "main", False, True),
        (one["branch_id"], "branch 1", False, False),
        (two["branch_id"], "second", True, False),
    ]
    assert body["branches"][0]["message_count"] == 5


def test_get_branches_reflects_each_branch_write_at_once(auth_client, chat, root_pairs):
    def names():
        return [b["name"] for b in auth_client.get(GET_BRANCHES, {"chat_id": str(chat.id)}).json()["branches"]]

    assert names() == ["main"]
    branch = fork(auth_client, chat, root_pairs[0]["response_id"])
    assert names() == ["main", "branch 1"]
    auth_client.put(RENAME, {"chat_id": str(chat.id), "branch_id": branch["branch_id"], "name": "renamed"}, format="json")
    assert names() == ["main", "renamed"]
    auth_client.delete(DELETE_BRANCH, {"chat_id": str(chat.id), "branch_id": branch["branch_id"]}, format="json")
    assert names() == ["main"]


def test_rename_branch_returns_it(auth_client, chat, root_pairs):
    branch = fork(auth_client, chat, root_pairs[0]["response_id"])

    response = auth_client.put(
        RENAME, {"chat_id": str(chat.id), "branch_id": branch["branch_id"], "name": "Plan B"}, format="json"
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {**{k: v for k, v in branch.items() if k != "messages"}, "name": "Plan B"}


def test_rename_the_root_and_a_branch_forked_before_the_first_pair(auth_client, chat):
    fresh = fork(auth_client, chat, None)
    for branch_id, name in ((str(chat.active_branch_id), "trunk"), (fresh["branch_id"], "fresh")):
        response = auth_client.put(
            RENAME, {"chat_id": str(chat.id), "branch_id": branch_id, "name": name}, format="json"
        )

        assert response.status_code == HTTPStatus.OK, response.content
        assert response.json()["name"] == name


@pytest.mark.parametrize(
    ("name", "code"), [("", "blank"), ("n" * 201, "max_length"), (None, "null")]
)
def test_rename_branch_rejects_bad_names(auth_client, chat, name, code):
    response = auth_client.put(
        RENAME, {"chat_id": str(chat.id), "branch_id": str(chat.active_branch_id), "name": name}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert [(e["code"], e["attr"]) for e in response.json()["errors"]] == [(code, "name")]
    assert Branch.objects.get(pk=chat.active_branch_id).name == "main"


def test_deleting_the_root_is_409(auth_client, chat):
    response = auth_client.delete(
        DELETE_BRANCH, {"chat_id": str(chat.id), "branch_id": str(chat.active_branch_id)}, format="json"
    )

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json() == error("root_branch", "The root branch cannot be deleted; delete the chat instead.")


def test_deleting_a_branch_with_children_needs_cascade(auth_client, chat, root_pairs):
    parent = fork(auth_client, chat, root_pairs[1]["response_id"], question="p", response="p")
    child_fork = path(auth_client, chat, parent["branch_id"])["messages"][-1]["response_id"]
    child = fork(auth_client, chat, child_fork)

    response = auth_client.delete(
        DELETE_BRANCH, {"chat_id": str(chat.id), "branch_id": parent["branch_id"]}, format="json"
    )

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json() == error(
        "branch_has_children", "This branch has branches of its own; delete with cascade=true to delete them too."
    )
    assert Branch.objects.filter(pk__in=[parent["branch_id"], child["branch_id"]]).count() == 2
    assert content_repository.branch_length(chat_id=chat.id, branch_id=parent["branch_id"]) == 1


def test_cascade_deletes_the_subtree_and_its_content(auth_client, chat, root_pairs):
    root_id = chat.active_branch_id
    top = fork(auth_client, chat, root_pairs[1]["response_id"], question="t", response="t")
    top_pair = path(auth_client, chat, top["branch_id"])["messages"][-1]["response_id"]
    mid = fork(auth_client, chat, top_pair, question="m", response="m")
    mid_pair = path(auth_client, chat, mid["branch_id"])["messages"][-1]["response_id"]
    leaf = fork(auth_client, chat, mid_pair, question="l", response="l")
    sibling = fork(auth_client, chat, root_pairs[1]["response_id"], question="s", response="s", activate=False)
    doomed = [top["branch_id"], mid["branch_id"], leaf["branch_id"]]

    response = auth_client.delete(f"{DELETE_BRANCH}?cascade=true&chat_id={chat.id}&branch_id={top['branch_id']}")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert not Branch.objects.filter(pk__in=doomed).exists()
    assert raw_buckets().count_documents({"branch_id": {"$in": doomed}}) == 0
    chat.refresh_from_db()
    # The active branch (the leaf) went: the deleted branch's parent took over.
    assert chat.active_branch_id == root_id
    fork_pair = path(auth_client, chat)["messages"][1]
    assert fork_pair["branches"] == [sibling["branch_id"]]
    assert questions(path(auth_client, chat, sibling["branch_id"])) == [("q0", 0), ("q1", 1), ("s", 2)]


def test_deleting_the_active_branch_activates_its_parent(auth_client, chat, root_pairs):
    parent = fork(auth_client, chat, root_pairs[2]["response_id"], question="p", response="p")
    parent_pair = path(auth_client, chat, parent["branch_id"])["messages"][-1]["response_id"]
    child = fork(auth_client, chat, parent_pair)

    response = auth_client.delete(
        DELETE_BRANCH, {"chat_id": str(chat.id), "branch_id": child["branch_id"]}, format="json"
    )

    assert response.status_code == HTTPStatus.NO_CONTENT
    page = path(auth_client, chat)
    assert page["active_branch_id"] == parent["branch_id"]
    assert page["messages"][-1]["branches"] == []


def test_deleting_an_inactive_branch_keeps_the_active_one(auth_client, chat, root_pairs):
    branch = fork(auth_client, chat, root_pairs[2]["response_id"], activate=False)

    auth_client.delete(DELETE_BRANCH, {"chat_id": str(chat.id), "branch_id": branch["branch_id"]}, format="json")

    chat.refresh_from_db()
    assert chat.active_branch_id == Branch.objects.get(chat=chat, parent__isnull=True).id
    assert path(auth_client, chat)["messages"][2]["branches"] == []


def test_default_names_count_the_branches(auth_client, chat, root_pairs):
    names = [fork(auth_client, chat, root_pairs[0]["response_id"])["name"] for _ in range(3)]

    assert names == ["branch 1", "branch 2", "branch 3"]


@pytest.mark.parametrize(
    ("body", "code", "attr"),
    [
        ({}, "required", "response_id"),
        ({"response_id": "nope"}, "invalid", "response_id"),
        ({"response_id": None, "response": "r"}, "required", "question"),
        ({"response_id": None, "question": "q"}, "response_required", "response"),  # generation is off
        ({"response_id": None, "name": ""}, "blank", "name"),
        ({"response_id": None, "activate": "maybe"}, "invalid", "activate"),
        ({"response_id": None, "parent_branch_id": None}, "unknown_field", "parent_branch_id"),
    ],
)
def test_create_branch_rejects_bad_input(auth_client, chat, body, code, attr):
    response = auth_client.post(CREATE_BRANCH, {"chat_id": str(chat.id), **body}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert [(e["code"], e["attr"]) for e in response.json()["errors"]] == [(code, attr)]
    assert Branch.objects.filter(chat=chat).count() == 1


def test_ids_from_another_of_ones_own_chats_are_404(auth_client, user, chat, root_pairs):
    other = ChatFactory(owner=user, pairs=1)
    other_pair = path(auth_client, other)["messages"][0]["response_id"]
    other_branch = str(other.active_branch_id)
    own = {"chat_id": str(chat.id)}

    responses = {
        "create": auth_client.post(CREATE_BRANCH, {**own, "response_id": other_pair}, format="json"),
        "activate": auth_client.put(SET_ACTIVE, {**own, "branch_id": other_branch}, format="json"),
        "rename": auth_client.put(RENAME, {**own, "branch_id": other_branch, "name": "x"}, format="json"),
        "delete": auth_client.delete(DELETE_BRANCH, {**own, "branch_id": other_branch}, format="json"),
        "get-chat": auth_client.get(GET, {**own, "branch_id": other_branch}),
        "get-messages": auth_client.get(MESSAGES, {**own, "branch_id": other_branch}),
        "add": auth_client.post(ADD, {**own, "branch_id": other_branch, "question": "q", "response": "r"}, format="json"),
    }

    assert {name: r.status_code for name, r in responses.items()} == {name: HTTPStatus.NOT_FOUND for name in responses}
    assert Branch.objects.filter(chat__in=[chat, other]).count() == 2
    assert Branch.objects.get(pk=other_branch).name == "main"


def test_unknown_response_id_is_404(auth_client, chat):
    response = auth_client.post(
        CREATE_BRANCH, {"chat_id": str(chat.id), "response_id": str(uuid.uuid4())}, format="json"
    )

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == error("not_found", "No pair with this response_id in this chat.")


def test_branch_writes_to_a_locked_chat_are_409(auth_client, chat, root_pairs):
    branch = fork(auth_client, chat, root_pairs[0]["response_id"], activate=False)
    Chat.objects.filter(pk=chat.pk).update(locked=True)
    ids = {"chat_id": str(chat.id), "branch_id": branch["branch_id"]}

    responses = [
        auth_client.post(CREATE_BRANCH, {"chat_id": str(chat.id), "response_id": None}, format="json"),
        auth_client.put(SET_ACTIVE, ids, format="json"),
        auth_client.put(RENAME, {**ids, "name": "x"}, format="json"),
        auth_client.delete(DELETE_BRANCH, ids, format="json"),
    ]

    assert [r.status_code for r in responses] == [HTTPStatus.CONFLICT] * 4
    assert {r.json()["errors"][0]["code"] for r in responses} == {"chat_locked"}
    assert Branch.objects.filter(chat=chat).count() == 2
    assert auth_client.get(GET_BRANCHES, {"chat_id": str(chat.id)}).status_code == HTTPStatus.OK


def test_mongodb_down_on_create_branch_is_503_and_changes_nothing(user, chat, root_pairs, mongo_down):
    client = client_for(user, raise_request_exception=False)
    before = (Chat.objects.get(pk=chat.pk).updated_at, Branch.objects.filter(chat=chat).count())

    response = client.post(
        CREATE_BRANCH, {"chat_id": str(chat.id), "response_id": root_pairs[0]["response_id"]}, format="json"
    )

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert (Chat.objects.get(pk=chat.pk).updated_at, Branch.objects.filter(chat=chat).count()) == before


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_appends_and_branch_creation_at_once_lose_nothing(settings):
    settings.CONTENT_BUCKET_SIZE = 4
    owner = UserFactory()
    chat = ChatFactory(owner=owner, pairs=4)
    root_id = chat.active_branch_id
    fork_from = content_repository.read_pairs_before(chat_id=chat.id, branch_id=root_id, limit=4)
    statuses = []
    barrier = threading.Barrier(8)

    def appender(n):
        try:
            client = client_for(owner)
            barrier.wait()
            for i in range(5):
                statuses.append(add(client, chat, root_id, f"w{n}-{i}")["position"] >= 4)
        finally:
            connection.close()

    def brancher(n):
        try:
            client = client_for(owner)
            barrier.wait()
            for i in range(3):
                body = fork(client, chat, fork_from[(n + i) % 4].response_id, question=f"b{n}-{i}", response="r")
                statuses.append(body["message_count"] == 1)
        finally:
            connection.close()

    threads = [threading.Thread(target=appender, args=(n,)) for n in range(4)]
    threads += [threading.Thread(target=brancher, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert statuses == [True] * 32
    root_pairs = content_repository.read_pairs_before(chat_id=chat.id, branch_id=root_id, limit=1000)
    assert [p.index for p in root_pairs] == list(range(24))
    assert sorted(p.question for p in root_pairs[4:]) == sorted(f"w{n}-{i}" for n in range(4) for i in range(5))
    branches = Branch.objects.filter(chat=chat, parent__isnull=False)
    assert branches.count() == 12
    listed = sorted(b for p in root_pairs[:4] for b in p.branches)
    assert listed == sorted(str(b.id) for b in branches)
    assert Branch.objects.get(pk=root_id).message_count == 24


def test_default_names_never_repeat_after_a_deletion(auth_client, chat, root_pairs):
    first = fork(auth_client, chat, root_pairs[0]["response_id"])
    fork(auth_client, chat, root_pairs[0]["response_id"])
    auth_client.delete(DELETE_BRANCH, {"chat_id": str(chat.id), "branch_id": first["branch_id"]}, format="json")

    third = fork(auth_client, chat, root_pairs[0]["response_id"])

    assert third["name"] == "branch 3"


def test_create_branch_with_a_first_pair_returns_it_in_messages(auth_client, chat, root_pairs):
    response = auth_client.post(
        CREATE_BRANCH,
        {"chat_id": str(chat.id), "response_id": root_pairs[1]["response_id"], "question": "q", "response": "r"},
        format="json",
    )

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    [pair] = body["messages"]
    assert (pair["question"], pair["response"], pair["position"], pair["branch_id"], pair["status"]) == (
        "q", "r", 2, body["branch_id"], "complete"
    )
    # A page shows the same pair, with its alternatives: the root's third pair and this one.
    shown = path(auth_client, chat, body["branch_id"])["messages"][-1]
    assert shown == {**pair, "alternatives": [root_pairs[2]["branch_id"], body["branch_id"]]}
