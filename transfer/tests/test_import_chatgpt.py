"""import-chats with ChatGPT's conversations.json: each shape of tree gives
exactly the chats, branches, active path and result lists it must."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from chats import content_repository
from chats.models import Chat
from chatproject.testing import error

from .conversations import assistant, chain, conversation, message, shape, user

pytestmark = pytest.mark.django_db

IMPORT = "/api/v1/chats/import-chats"
DONE = "complete"


def imported(client, document):
    response = client.post(IMPORT, document, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def only_chat(body, **counts):
    """The one chat an import made: its entry in `imported` must be exactly
    `counts` (branches, pairs, dropped_parts) beside its id and title."""
    assert body["skipped"] == []
    [entry] = body["imported"]
    assert entry == {"chat_id": entry["chat_id"], "title": entry["title"], **counts}
    return shape(entry["chat_id"])


def test_a_linear_conversation_is_one_branch(auth_client, user):
    body = imported(auth_client, [conversation(chain("Hi", "Hello!", "Name a prime", "7"), title="Primes")])

    assert only_chat(body, branches=1, pairs=2, dropped_parts=0) == {
        "title": "Primes",
        "active": "main",
        "branches": [("main", None, 0, [("Hi", "Hello!", DONE), ("Name a prime", "7", DONE)])],
    }
    chat = Chat.objects.get(pk=body["imported"][0]["chat_id"])
    assert (chat.owner, chat.created_at.timestamp()) == (user, 1_764_000_000.0)


def test_an_edited_question_opens_a_branch_after_the_answer_before_it(auth_client):
    nodes = chain("q1", "a1") + [
        ("u2", "n1", user("q2")),
        ("a2", "u2", assistant("a2")),
        ("u2b", "n1", user("q2 edited")),
        ("a2b", "u2b", assistant("a2b")),
    ]

    body = imported(auth_client, [conversation(nodes, current="a2b")])

    assert only_chat(body, branches=2, pairs=3, dropped_parts=0)["branches"] == [
        ("main", None, 0, [("q1", "a1", DONE), ("q2", "a2", DONE)]),
        ("branch 1", "main", 1, [("q2 edited", "a2b", DONE)]),
    ]
    assert shape(body["imported"][0]["chat_id"])["active"] == "branch 1"


def test_a_regenerated_first_answer_is_a_branch_before_the_first_pair(auth_client):
    nodes = [("u1", "root", user("q1")), ("a1", "u1", assistant("first try")), ("a1b", "u1", assistant("second try"))]

    body = imported(auth_client, [conversation(nodes, current="a1")])

    assert only_chat(body, branches=2, pairs=2, dropped_parts=0) == {
        "title": "A conversation",
        "active": "main",
        "branches": [
            ("main", None, 0, [("q1", "first try", DONE)]),
            ("branch 1", "main", 0, [("q1", "second try", DONE)]),
        ],
    }


def test_alternatives_nested_three_levels_deep(auth_client):
    # q2 edited on main; on that branch a3 regenerated; on that one q4 edited.
    nodes = chain("q1", "a1") + [
        ("u2", "n1", user("q2")),
        ("a2", "u2", assistant("a2")),
        ("u2b", "n1", user("q2b")),
        ("a2b", "u2b", assistant("a2b")),
        ("u3", "a2b", user("q3")),
        ("a3", "u3", assistant("a3")),
        ("a3b", "u3", assistant("a3b")),
        ("u4", "a3b", user("q4")),
        ("a4", "u4", assistant("a4")),
        ("u4b", "a3b", user("q4b")),
        ("a4b", "u4b", assistant("a4b")),
    ]

    body = imported(auth_client, [conversation(nodes, current="a4b")])

    assert only_chat(body, branches=4, pairs=7, dropped_parts=0) == {
        "title": "A conversation",
        "active": "branch 3",
        "branches": [
            ("main", None, 0, [("q1", "a1", DONE), ("q2", "a2", DONE)]),
            ("branch 1", "main", 1, [("q2b", "a2b", DONE), ("q3", "a3", DONE)]),
            ("branch 2", "branch 1", 2, [("q3", "a3b", DONE), ("q4", "a4", DONE)]),
            ("branch 3", "branch 2", 3, [("q4b", "a4b", DONE)]),
        ],
    }


def test_system_hidden_and_tool_messages_are_dropped_and_other_parts_counted(auth_client):
    nodes = [
        ("sys", "root", message("system", "You are ChatGPT.")),
        ("ctx", "sys", message("user", "custom instructions", content_type="user_editable_context",
                               is_visually_hidden_from_conversation=True)),
        ("u1", "ctx", user(None, content_type="multimodal_text",
                           parts=[{"content_type": "image_asset_pointer", "asset_pointer": "file-service://f1"},
                                  "What is in this picture?"])),
        ("a1", "u1", assistant("An owl.", model_slug="gpt-4o")),
        ("u2", "a1", user("Count the owls in the data")),
        ("call", "u2", assistant(None, content_type="code", parts=None)),
        ("run", "call", message("tool", None, content_type="execution_output", parts=None)),
        ("a2", "run", assistant("There are 3.", model_slug="gpt-4o")),
    ]
    nodes[5][2]["content"] = {"content_type": "code", "language": "python", "text": "len(owls)"}
    nodes[6][2]["content"] = {"content_type": "execution_output", "text": "3"}

    body = imported(auth_client, [conversation(nodes)])

    assert only_chat(body, branches=1, pairs=2, dropped_parts=2)["branches"] == [
        ("main", None, 0, [("What is in this picture?", "An owl.", DONE), ("Count the owls in the data", "There are 3.", DONE)]),
    ]
    chat_id = body["imported"][0]["chat_id"]
    [first, second] = next(iter(content_repository.read_chat(chat_id=chat_id).values()))
    assert (first.model, first.finish_reason, second.model) == ("gpt-4o", "stop", "gpt-4o")


def test_cut_answers_are_interrupted_and_an_unanswered_question_stays(auth_client):
    nodes = chain("q1") + [
        ("a1", "n0", assistant("Half an ans", status="finished_partial_completion")),
        ("u2", "a1", user("go on")),
        ("a2", "u2", assistant("More", finish_details={"type": "interrupted"})),
        ("u3", "a2", user("and?")),
    ]

    body = imported(auth_client, [conversation(nodes)])

    assert only_chat(body, branches=1, pairs=3, dropped_parts=0)["branches"] == [
        ("main", None, 0, [("q1", "Half an ans", "interrupted"), ("go on", "More", "interrupted"), ("and?", "", "interrupted")]),
    ]


def test_an_image_only_question_keeps_its_place(auth_client):
    image = {"content_type": "image_asset_pointer", "asset_pointer": "file-service://f2"}
    nodes = [("u1", "root", user(None, content_type="multimodal_text", parts=[image])), ("a1", "u1", assistant("A cat."))]

    body = imported(auth_client, [conversation(nodes)])

    assert only_chat(body, branches=1, pairs=1, dropped_parts=1)["branches"] == [
        ("main", None, 0, [("[non-text content left out]", "A cat.", DONE)]),
    ]


def test_text_outside_the_basic_plane_arrives_whole(auth_client):
    question, answer = "Which bird is 🦉? 𝔗𝔥𝔦𝔰 one", "An owl 🦉, in 𝕕𝕠𝕦𝕓𝕝𝕖-𝕤𝕥𝕣𝕦𝕔𝕜"
    document = json.dumps([conversation(chain(question, answer), title="🦉 owls")])
    assert "\\ud83e\\udd89" in document  # as JSON writes it: a surrogate pair

    response = auth_client.post(IMPORT, document, content_type="application/json")

    assert response.status_code == 201
    assert shape(response.json()["imported"][0]["chat_id"]) == {
        "title": "🦉 owls",
        "active": "main",
        "branches": [("main", None, 0, [(question, answer, DONE)])],
    }


def test_broken_conversations_are_skipped_and_the_others_imported(auth_client):
    good = conversation(chain("q", "a"), title="Good")
    cycle = conversation(chain("q", "a") + [("x", "y", user("x")), ("y", "x", assistant("y"))], title="Loop")
    orphan = conversation([("u1", "gone", user("q")), ("a1", "u1", assistant("a"))], title="Orphan")
    two_roots = conversation(chain("q", "a") + [("other", None, None)], title="Two roots")
    empty = conversation([], title="Empty", current="root")
    only_system = conversation([("s", "root", message("system", "setup"))], title="System only")
    huge = conversation(chain("q", "x" * 100_001), title="Huge")

    body = imported(auth_client, [good, cycle, orphan, two_roots, empty, only_system, huge])

    assert [entry["title"] for entry in body["imported"]] == ["Good"]
    assert body["skipped"] == [
        {"index": 1, "title": "Loop", "code": "cycle",
         "detail": "[1]: node 'x' cannot be reached from a root: its parents form a cycle"},
        {"index": 2, "title": "Orphan", "code": "missing_parent",
         "detail": "[2]: node 'u1' names parent 'gone', which is not in the mapping"},
        {"index": 3, "title": "Two roots", "code": "several_roots",
         "detail": "[3]: 2 nodes have no parent ('root', 'other')"},
        {"index": 4, "title": "Empty", "code": "no_pairs", "detail": "[4]: the conversation holds no question"},
        {"index": 5, "title": "System only", "code": "no_pairs", "detail": "[5]: the conversation holds no question"},
        {"index": 6, "title": "Huge", "code": "too_large",
         "detail": "[6] node 'n1': the response has 100001 characters, more than 100000"},
    ]
    assert Chat.objects.count() == 1


def test_a_conversation_imported_before_is_skipped(auth_client, other_client):
    document = [conversation(chain("q", "a"), title="Once", conversation_id="abc-123")]
    first = imported(auth_client, document)

    again = imported(auth_client, document)
    theirs = imported(other_client, document)

    assert again == {
        "imported": [],
        "skipped": [{
            "index": 0, "title": "Once", "code": "already_imported",
            "detail": f"[0]: imported before, as chat {first['imported'][0]['chat_id']}",
        }],
    }
    assert len(theirs["imported"]) == 1  # another user's import is theirs alone


def test_a_thousand_conversations_in_one_file(auth_client, settings):
    document = [conversation(chain(f"q{i}", f"a{i}"), title=f"Chat {i}") for i in range(1000)]
    assert settings.IMPORT_MAX_CONVERSATIONS == 1000

    body = imported(auth_client, document)
    too_many = auth_client.post(IMPORT, [*document, document[0]], format="json")

    assert [entry["title"] for entry in body["imported"]] == [f"Chat {i}" for i in range(1000)]
    assert body["skipped"] == []
    assert too_many.status_code == 400
    assert too_many.json() == error(
        "too_many_conversations", "The file holds 1001 conversations; at most 1000 are imported at once."
    )
    assert Chat.objects.count() == 1000


def test_a_file_over_the_size_limit_is_413(auth_client, settings):
    settings.IMPORT_MAX_BYTES = 4096
    document = json.dumps([conversation(chain("q", "a" * 5000))]).encode()
    upload = SimpleUploadedFile("conversations.json", document, content_type="application/json")

    as_body = auth_client.post(IMPORT, document, content_type="application/json")
    as_file = auth_client.post(IMPORT, {"file": upload}, format="multipart")

    expected = error("payload_too_large", "Request body is larger than 4096 bytes.")
    assert (as_body.status_code, as_body.json()) == (413, expected)
    assert (as_file.status_code, as_file.json()) == (413, expected)
    assert not Chat.objects.exists()


def test_a_multipart_file_is_read_like_a_body(auth_client):
    document = json.dumps([conversation(chain("q", "a"), title="From a file")]).encode()
    upload = SimpleUploadedFile("conversations.json", b"\xef\xbb\xbf" + document, content_type="application/json")

    response = auth_client.post(IMPORT, {"file": upload}, format="multipart")

    assert response.status_code == 201
    assert [entry["title"] for entry in response.json()["imported"]] == ["From a file"]


@pytest.mark.parametrize(
    ("document", "detail"),
    [
        ({"hello": "world"}, "neither a branching-chat export (an object with \"format\": \"branching-chat\") nor a "
                             "ChatGPT conversations.json (an array of conversations, each with a `mapping`)"),
        ([{"title": "no mapping"}], "[0]: a conversation is an object with a `mapping` object"),
        ([{"mapping": {"a": {"parent": 5}}}], "[0].mapping['a'].parent: a node id or null"),
        ([{"mapping": {"a": {"parent": None, "message": "hi"}}}], "[0].mapping['a'].message: null or an object with an `author`"),
        ({"format": "branching-chat", "version": 2}, "not a 'branching-chat' export of version 1"),
    ],
)
def test_anything_else_is_400_unsupported_format_saying_where(auth_client, document, detail):
    response = auth_client.post(IMPORT, document, format="json")

    assert (response.status_code, response.json()) == (400, error("unsupported_format", detail))


def test_a_file_that_is_not_json_is_unsupported(auth_client):
    upload = SimpleUploadedFile("conversations.json", b"{not json", content_type="application/json")

    response = auth_client.post(IMPORT, {"file": upload}, format="multipart")

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "unsupported_format"
    assert response.json()["errors"][0]["detail"].startswith("The file is not JSON: Expecting property name")


def test_import_needs_a_login(api_client):
    response = api_client.post(IMPORT, [conversation(chain("q", "a"))], format="json")

    assert response.status_code == 401


def test_a_body_over_a_mebibyte_is_taken_here_also_when_chunked(auth_client, settings):
    # 1.5 MiB: over the limit of every other route, under IMPORT_MAX_BYTES.
    long_answer = "An owl. " * 24_000
    document = json.dumps(
        [conversation(chain("q", long_answer[:99_000], "q2", long_answer[:99_000]), title=f"Long {i}") for i in range(8)]
    ).encode()
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE < len(document) < settings.IMPORT_MAX_BYTES
    chunked = {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(document), "wsgi.input_terminated": True}

    plain = auth_client.post(IMPORT, document, content_type="application/json")
    as_chunks = auth_client.generic("POST", IMPORT, content_type="application/json", **chunked)

    assert plain.status_code == 201
    assert [entry["title"] for entry in plain.json()["imported"]] == [f"Long {i}" for i in range(8)]
    assert as_chunks.status_code == 201
    assert [entry["code"] for entry in as_chunks.json()["skipped"]] == ["already_imported"] * 8


def test_bodies_of_other_kinds(auth_client):
    as_text = auth_client.post(IMPORT, "[]", content_type="text/plain")
    no_file = auth_client.post(IMPORT, {"other": "x"}, format="multipart")
    not_json = auth_client.post(IMPORT, b"[{", content_type="application/json")

    assert (as_text.status_code, as_text.json()) == (415, error("unsupported_media_type", 'Unsupported media type "text/plain" in request.'))
    assert (no_file.status_code, no_file.json()) == (400, error("unsupported_format", "A multipart import needs its file in the field `file`."))
    assert (not_json.status_code, not_json.json()) == (400, error(
        "unsupported_format",
        "The body is not JSON: JSON parse error - Expecting property name enclosed in double quotes: line 1 column 3 (char 2)",
    ))


def odd(**message_fields):
    """A one-pair conversation whose answer has these fields instead."""
    answer = {**assistant("a"), **message_fields}
    return conversation([("u1", "root", user("q")), ("a1", "u1", answer)], title="Odd")


@pytest.mark.parametrize(
    "document",
    [
        [odd(content="a plain string")],
        [odd(content={"content_type": "text", "parts": "not a list"})],
        [odd(content={"content_type": "text", "parts": [None, 5, {"x": 1}]})],
        [odd(metadata=["not", "a", "dict"])],
        [odd(metadata={"model_slug": 42, "finish_details": "stop"})],
        [odd(create_time="yesterday", status=None)],
        [odd(create_time=1e300)],
        [{**conversation(chain("q", "a")), "conversation_id": "x" * 5000, "title": ["not", "text"]}],
        [{**conversation(chain("q", "a")), "current_node": {"a": 1}, "create_time": -1e20}],
        [{**conversation(chain("q\ud800 lone", "a")), "conversation_id": "lone\udfff"}],
        [{"title": "skipped \ud800", "mapping": {}}, {"title": "x", "mapping": {"a": {"parent": "a"}}}],
    ],
)
def test_odd_values_are_imported_or_refused_never_a_server_error(auth_client, document):
    response = auth_client.post(IMPORT, json.dumps(document), content_type="application/json")

    assert response.status_code in (201, 400), response.content
    if response.status_code == 201:
        body = response.json()
        assert len(body["imported"]) + len(body["skipped"]) == len(document)
        for entry in body["imported"]:
            assert shape(entry["chat_id"])["branches"][0][0] == "main"
