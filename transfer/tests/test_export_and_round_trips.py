"""export-chat in each format, and round trips through import-chats."""

import json
import uuid
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from branches import services as branch_services
from chats import content_repository
from chats import services as chat_services
from chats.models import Chat
from chats.tests.factories import ChatFactory
from chats.tests.stores import raw_buckets
from chatproject.testing import client_for, error
from transfer import services
from transfer.chatgpt import plan_from_conversation

from .conversations import chain, conversation, shape

pytestmark = pytest.mark.django_db

EXPORT = "/api/v1/chats/export-chat"
IMPORT = "/api/v1/chats/import-chats"


def pairs(chat_id, branch_id):
    return content_repository.read_all_pairs(chat_id=chat_id, branch_id=branch_id)


@pytest.fixture
def tree(user, settings):
    """Main q0…q4 over several buckets; "first" forks after q2 and is active,
    "second" forks after f0 of "first", "fresh" is empty, "top" forks before
    q0; one answer generated, one cut."""
    settings.CONTENT_BUCKET_SIZE = 2
    chat = ChatFactory(owner=user, title="Trip to Lisbon: plans", pairs=5)
    root = pairs(chat.id, chat.active_branch_id)
    first, _ = branch_services.branch_create(
        user=user, chat_id=chat.id, response_id=root[2].response_id, name="first", question="f0", response="f0",
        activate=False,
    )
    chat_services.message_add(
        user=user, chat_id=chat.id, branch_id=first.id, question="f1", response="f1 generated",
        generation={"generation": {"status": "complete", "model": "SmolLM2-135M", "finish_reason": "stop",
                                   "usage": {"prompt_tokens": 12, "completion_tokens": 3}}},
    )
    branch_services.branch_create(
        user=user, chat_id=chat.id, response_id=pairs(chat.id, first.id)[0].response_id, name="second",
        question="s0 🦉", response="cut sh", activate=False,
    )
    branch_services.branch_create(user=user, chat_id=chat.id, response_id=None, name="fresh", activate=False)
    branch_services.branch_create(user=user, chat_id=chat.id, response_id=None, name="top", question="t0", response="t0", activate=False)
    branch_services.branch_activate(user=user, chat_id=chat.id, branch_id=first.id)
    chat.refresh_from_db()
    return chat


def export(client, chat, format=None):
    query = {"chat_id": str(chat.id if hasattr(chat, "id") else chat)}
    if format:
        query["format"] = format
    return client.get(EXPORT, query)


def test_export_is_an_attachment_in_each_format(auth_client, tree):
    as_json, as_markdown, as_chatgpt = (export(auth_client, tree, f) for f in ("json", "markdown", "chatgpt"))

    assert [r.status_code for r in (as_json, as_markdown, as_chatgpt)] == [200, 200, 200]
    assert (as_json["Content-Type"], as_json["Content-Disposition"]) == (
        "application/json", 'attachment; filename="trip-to-lisbon-plans.json"'
    )
    assert (as_markdown["Content-Type"], as_markdown["Content-Disposition"]) == (
        "text/markdown; charset=utf-8", 'attachment; filename="trip-to-lisbon-plans.md"'
    )
    assert as_chatgpt["Content-Disposition"] == 'attachment; filename="trip-to-lisbon-plans.conversations.json"'
    assert json.loads(as_json.content)["format"] == "branching-chat"
    assert as_markdown.content.decode().startswith("# Trip to Lisbon: plans\n\nBranch **first** · 5 pairs · active\n")
    assert export(auth_client, tree).content == as_json.content  # json is the default


def test_chatgpt_export_is_the_tree_as_sibling_nodes(auth_client, tree):
    [conv] = json.loads(export(auth_client, tree, "chatgpt").content)
    mapping = conv["mapping"]

    def text(node_id):
        return mapping[node_id]["message"]["content"]["parts"][0]

    def roles_and_texts(node_id):
        node = mapping[node_id]
        here = (node["message"]["author"]["role"], text(node_id)) if node["message"] else ("root", None)
        return [here, [roles_and_texts(child) for child in node["children"]]]

    [root] = [key for key, node in mapping.items() if node["parent"] is None]
    # Each branch's first question beside what follows its fork pair, the
    # holder's own continuation first; the empty branch has no node.
    line = lambda *texts, fork=(): _line(texts, fork)  # noqa: E731
    assert roles_and_texts(root) == [("root", None), [
        line("q0", "r0", "q1", "r1", "q2", "r2", fork=[
            line("q3", "r3", "q4", "r4"),
            line("f0", "f0", fork=[line("f1", "f1 generated"), line("s0 🦉", "cut sh")]),
        ]),
        line("t0", "t0"),
    ]]
    assert text(conv["current_node"]) == "f1 generated"
    generated = mapping[conv["current_node"]]["message"]
    assert generated["metadata"] == {"model_slug": "SmolLM2-135M", "finish_details": {"type": "stop"}}
    assert (conv["title"], conv["conversation_id"]) == ("Trip to Lisbon: plans", str(tree.id))


def _line(texts, fork=()):
    """The expected nested shape of alternating user/assistant texts; `fork`
    the children of the last node."""
    *head, last = texts
    node = [("assistant", last), list(fork)]
    for i in range(len(head) - 1, -1, -1):
        role = "user" if i % 2 == 0 else "assistant"
        node = [(role, head[i]), [node]]
    return node


def conversation_shape(conv):
    """A conversation without its ids: nested (role, text, status, model)
    from the root, and the texts on the path to current_node."""
    mapping = conv["mapping"]

    def walk(node_id):
        message = mapping[node_id]["message"]
        here = None if message is None else (
            message["author"]["role"], message["content"]["parts"][0], message["status"],
            message["metadata"].get("model_slug"),
        )
        return (here, tuple(walk(child) for child in mapping[node_id]["children"]))

    path, node = [], conv["current_node"]
    while node is not None:
        if mapping[node]["message"]:
            path.append(mapping[node]["message"]["content"]["parts"][0])
        node = mapping[node]["parent"]
    [root] = [key for key, node in mapping.items() if node["parent"] is None]
    return walk(root), path[::-1]


def test_chatgpt_round_trip_keeps_tree_texts_roles_order_and_active_path(auth_client, tree):
    first = export(auth_client, tree, "chatgpt").content
    upload = SimpleUploadedFile("conversations.json", first, content_type="application/json")

    body = auth_client.post(IMPORT, {"file": upload}, format="multipart").json()
    second = export(auth_client, body["imported"][0]["chat_id"], "chatgpt").content

    assert body["imported"][0] | {"chat_id": None} == {
        "chat_id": None, "title": "Trip to Lisbon: plans", "branches": 4, "pairs": 9, "dropped_parts": 0
    }
    assert conversation_shape(json.loads(second)[0]) == conversation_shape(json.loads(first)[0])
    times = lambda conv: sorted(n["message"]["create_time"] for n in conv["mapping"].values() if n["message"])  # noqa: E731
    assert times(json.loads(second)[0]) == times(json.loads(first)[0])


def normalized(document):
    """Our export without its ids and owner: branches by name, pairs without ids."""
    names = {b["id"]: b["name"] for b in document["branches"]}
    texts = {p["response_id"]: p["question"] for b in document["branches"] for p in b["pairs"]}
    return {
        "chat": {k: v for k, v in document["chat"].items() if k not in ("id", "owner")},
        "active": names[document["active_branch_id"]],
        "branches": [
            {
                **{k: v for k, v in b.items() if k not in ("id", "parent_id", "fork_response_id", "pairs")},
                "parent": names.get(b["parent_id"]),
                "fork": texts.get(b["fork_response_id"]),
                "pairs": [{k: v for k, v in p.items() if k != "response_id"} for p in b["pairs"]],
            }
            for b in document["branches"]
        ],
    }


def test_json_round_trip_gives_the_same_document(auth_client, other_client, tree):
    first = json.loads(export(auth_client, tree).content)

    body = other_client.post(IMPORT, first, format="json").json()
    copy = Chat.objects.get(pk=body["imported"][0]["chat_id"])
    second = json.loads(export(other_client, copy).content)

    assert body["imported"][0] == {
        "chat_id": str(copy.id), "title": "Trip to Lisbon: plans", "branches": 5, "pairs": 9, "dropped_parts": 0
    }
    assert second["chat"]["owner"] != first["chat"]["owner"]
    assert normalized(second) == normalized(first)


def test_an_import_is_always_the_callers(auth_client, other_client, other_user, tree):
    document = json.loads(export(auth_client, tree).content)

    body = other_client.post(IMPORT, document, format="json").json()

    assert Chat.objects.get(pk=body["imported"][0]["chat_id"]).owner == other_user
    assert document["chat"]["owner"] != other_user.username


def test_a_locked_chat_comes_back_locked_and_a_hidden_flag_is_dropped(auth_client, other_client, tree):
    document = json.loads(export(auth_client, tree).content)
    document["chat"].update(locked=True, hidden=True, status="hidden")

    body = other_client.post(IMPORT, document, format="json").json()

    copy = Chat.objects.get(pk=body["imported"][0]["chat_id"])
    assert (copy.locked, copy.hidden, copy.status) == (True, False, "locked")


def test_others_and_hidden_chats_cannot_be_exported(auth_client, other_client, tree):
    theirs = export(other_client, tree)
    bad_format = export(auth_client, tree, "pdf")
    Chat.objects.filter(pk=tree.pk).update(hidden=True)
    hidden = export(auth_client, tree)

    assert (theirs.status_code, theirs.json()) == (404, error("not_found", "Chat not found."))
    assert (hidden.status_code, hidden.json()) == (404, error("not_found", "Chat not found."))
    assert (bad_format.status_code, bad_format.json()) == (
        400, error("invalid_choice", '"pdf" is not a valid choice.', attr="format", error_type="validation_error")
    )


def test_an_import_writes_in_one_store_call_and_the_same_statements_whatever_its_size(user, settings):
    settings.CONTENT_BUCKET_SIZE = 100
    costs = []
    for size in (10, 500):
        plan = plan_from_conversation(conversation(chain(*[f"t{i}" for i in range(2 * size)])), "[0]")
        calls = content_repository.calls()
        with CaptureQueriesContext(connection) as queries:
            chat = services.chat_import(owner=user, plan=plan)
        costs.append((content_repository.calls() - calls, len(queries)))
        assert [p.question for p in pairs(chat.id, chat.active_branch_id)] == [f"t{2 * i}" for i in range(size)]
    # One MongoDB call (1 bucket, then 5), and the same PostgreSQL statements.
    assert costs[0] == costs[1]
    assert costs[0][0] == 1


def test_a_conversation_whose_rows_fail_leaves_no_content(user):
    plan = plan_from_conversation(conversation(chain("q", "a"), conversation_id="same"), "[0]")
    first = services.chat_import(owner=user, plan=plan)

    # Two imports of one conversation racing: the second's rows fail on the
    # uniqueness of (owner, imported_from) after its content was written.
    with pytest.raises(services.Skip) as raised:
        services.chat_import(owner=user, plan=plan)

    assert raised.value.code == "already_imported"
    assert set(content_repository.content_chat_ids()) == {str(first.id)}


def test_mongodb_down_imports_nothing(user, mongo_down):
    client = client_for(user, raise_request_exception=False)

    response = client.post(IMPORT, [conversation(chain("q", "a"))], format="json")

    assert (response.status_code, response.json()) == (
        503, error("service_unavailable", "The content store is unavailable. Try again later.", error_type="server_error")
    )
    assert not Chat.objects.exists()


def test_reconcile_leaves_an_import_in_flight_alone(user):
    # An import's content is written a moment before its chat's rows; its
    # pairs carry times of years ago.
    plan = plan_from_conversation(conversation(chain("q", "a")), "[0]")
    pair = {"question": "q", "response": "a", "timestamp": plan.branches[0].pairs[0].timestamp}
    in_flight = uuid.uuid4()
    content_repository.write_chat(chat_id=in_flight, branches=[(uuid.uuid4(), [content_repository.new_pair(**pair)])])

    soon = run("reconcile_content", "--fix")
    later = run("reconcile_content", "--grace", "0", "--fix")

    assert soon.splitlines()[-2:] == ["problems found: 0", "repaired: 0"]
    assert later.splitlines()[-2:] == ["problems found: 1", "repaired: 1"]
    assert content_repository.content_chat_ids() == set()


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def round_trip(client, chat, format):
    """Export, import, export again: (first export, second export, the copy's id)."""
    first = export(client, chat, format).content
    body = client.post(IMPORT, json.loads(first), format="json").json()
    assert body["skipped"] == [], body
    copy = body["imported"][0]["chat_id"]
    return first, export(client, copy, format).content, copy


def test_a_branch_after_its_parents_last_pair_and_an_empty_active_branch_survive_a_chatgpt_round_trip(
    auth_client, user
):
    chat = ChatFactory(owner=user, title="Forks at the end", pairs=2)
    first_pair, last_pair = pairs(chat.id, chat.active_branch_id)
    branch_services.branch_create(
        user=user, chat_id=chat.id, response_id=last_pair.response_id, question="q2", response="r2", activate=False
    )

    first, second, copy = round_trip(auth_client, chat, "chatgpt")

    assert conversation_shape(json.loads(second)[0]) == conversation_shape(json.loads(first)[0])
    assert shape(copy)["active"] == "main"
    assert shape(copy)["branches"] == [
        ("main", None, 0, [("q0", "r0", "complete"), ("q1", "r1", "complete")]),
        ("branch 1", "main", 2, [("q2", "r2", "complete")]),
    ]

    # An empty branch, active: the path shown ends at its fork pair.
    branch_services.branch_create(user=user, chat_id=chat.id, response_id=first_pair.response_id, name="empty")
    chat_services.chat_delete(chat=Chat.objects.get(pk=copy))  # else: already_imported
    first, second, copy = round_trip(auth_client, chat, "chatgpt")
    assert conversation_shape(json.loads(second)[0])[1] == conversation_shape(json.loads(first)[0])[1] == ["q0", "r0"]


def test_alternatives_keep_their_order_whatever_their_times(auth_client, user):
    chat = ChatFactory(owner=user, title="Order", pairs=1)
    [pair] = pairs(chat.id, chat.active_branch_id)
    # "later" is created first, empty, and gets its question after "sooner" got its own.
    later, _ = branch_services.branch_create(
        user=user, chat_id=chat.id, response_id=pair.response_id, name="later", activate=False
    )
    branch_services.branch_create(
        user=user, chat_id=chat.id, response_id=pair.response_id, name="sooner", question="s", response="s",
        activate=False,
    )
    chat_services.message_add(user=user, chat_id=chat.id, branch_id=later.id, question="l", response="l")
    chat_services.message_add(user=user, chat_id=chat.id, question="main", response="main")
    root = conversation_shape(json.loads(export(auth_client, chat, "chatgpt").content)[0])[0]
    after_r0 = root[1][0][1][0][1]  # root -> q0 -> r0 -> its children
    assert [question[0][1] for question in after_r0] == ["main", "l", "s"]

    first, second, _ = round_trip(auth_client, chat, "chatgpt")

    assert conversation_shape(json.loads(second)[0]) == conversation_shape(json.loads(first)[0])


def test_statuses_and_empty_generated_answers_survive_both_round_trips(auth_client, user):
    chat = ChatFactory(owner=user, title="Endings", pairs=0)
    endings = [
        ("cut by an error", "half", {"status": "interrupted", "model": "m", "finish_reason": "error", "error_code": "model_error"}),
        ("failed", "", {"status": "failed", "model": "m", "finish_reason": "error", "error_code": "model_unavailable"}),
        ("filtered", "", {"status": "complete", "model": "m", "finish_reason": "stop"}),
        ("stopped", "so far", {"status": "interrupted", "model": "m", "finish_reason": "interrupted"}),
    ]
    for question, response, generation in endings:
        chat_services.message_add(user=user, chat_id=chat.id, question=question, response=response, generation={"generation": generation})

    for format in ("json", "chatgpt"):
        first, second, copy = round_trip(auth_client, chat, format)
        assert [(q, r, s) for q, r, s in shape(copy)["branches"][0][3]] == [
            ("cut by an error", "half", "interrupted"),
            ("failed", "", "failed"),
            ("filtered", "", "complete"),
            ("stopped", "so far", "interrupted"),
        ], format


@pytest.mark.parametrize(
    "change",
    [
        lambda doc: doc["branches"][0]["pairs"][0].update(model="\ud800"),
        lambda doc: doc["branches"][0]["pairs"][0].update(model="m", usage={"prompt_tokens": 10**20, "completion_tokens": 1}),
        lambda doc: doc["branches"][0].update(parent_id=["x"]),
        lambda doc: doc.update(active_branch_id={"x": 1}),
    ],
)
def test_an_export_changed_by_hand_is_refused_never_a_server_error(auth_client, user, change):
    chat = ChatFactory(owner=user, title="Hand-edited", pairs=1)
    document = json.loads(export(auth_client, chat).content)
    change(document)

    response = auth_client.post(IMPORT, json.dumps(document), content_type="application/json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "unsupported_format"


def test_imported_buckets_are_the_buckets_appends_and_forks_leave(auth_client, user, settings):
    settings.CONTENT_BUCKET_SIZE = 2
    chat = ChatFactory(owner=user, title="Buckets", pairs=5)
    root = pairs(chat.id, chat.active_branch_id)
    side, _ = branch_services.branch_create(
        user=user, chat_id=chat.id, response_id=root[1].response_id, question="s", response="s"
    )
    branch_services.branch_create(user=user, chat_id=chat.id, response_id=root[1].response_id, question="t", response="t")

    _, _, copy = round_trip(auth_client, chat, "json")

    def outline(chat_id):
        counters = ("seq", "start", "count", "end", "bytes", "closed")
        buckets = raw_buckets().find({"chat_id": str(chat_id)})
        return sorted(
            (tuple(b[k] for k in counters), [len(p["branches"]) for p in b["qa_pairs"]]) for b in buckets
        )

    assert outline(copy) == outline(chat.id)
