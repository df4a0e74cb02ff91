"""search-messages over the API: what it finds, where it says the pair is,
what it never shows, and its input."""

from http import HTTPStatus

import pytest
from django.urls import reverse

from chats.models import Chat
from chats.tests.routes import ADD, CREATE, DELETE

pytestmark = [pytest.mark.django_db, pytest.mark.requires_postgres]

SEARCH = reverse("search-search-messages")
BRANCH = reverse("branches-create-branch")
DELETE_BRANCH = reverse("branches-delete-branch")


def new_chat(client, title, question, response):
    body = client.post(CREATE, {"title": title, "question": question, "response": response}, format="json").json()
    return body["chat_id"], body["root_branch_id"], body["messages"][0]["response_id"]


def add(client, chat_id, question, response, branch_id=None):
    body = {"chat_id": chat_id, "question": question, "response": response}
    if branch_id:
        body["branch_id"] = branch_id
    answer = client.post(ADD, body, format="json")
    assert answer.status_code == HTTPStatus.CREATED, answer.content
    return answer.json()["response_id"]


def fork(client, chat_id, after, question, response, name):
    body = {"chat_id": chat_id, "response_id": after, "question": question, "response": response, "name": name}
    answer = client.post(BRANCH, body, format="json")
    assert answer.status_code == HTTPStatus.CREATED, answer.content
    return answer.json()["branch_id"], answer.json()["messages"][0]["response_id"]


def search(client, q, **params):
    return client.get(SEARCH, {"q": q, **params})


def found(client, q, **params):
    answer = search(client, q, **params)
    assert answer.status_code == HTTPStatus.OK, answer.content
    return [(r["response_id"], r["branch_id"], r["position"]) for r in answer.json()["results"]]


@pytest.fixture
def tree(auth_client):
    """A chat three levels deep: the root holds two pairs; `train` forks
    after the first, `night` forks after train's own pair."""
    chat_id, root_id, first = new_chat(
        auth_client, "Trip to Lisbon", "How do I get from Madrid to Lisbon?", "By plane, by bus, or by train."
    )
    second = add(auth_client, chat_id, "And by plane?", "About an hour and a quarter of flying.")
    train_id, train_pair = fork(
        auth_client, chat_id, first, "Tell me about the trains.", "The Lusitania sleeper ran every night.", "train"
    )
    night_id, night_pair = fork(
        auth_client, chat_id, train_pair, "Is the sleeper still running?", "No: it stopped in 2020.", "night"
    )
    return {
        "chat_id": chat_id, "root": root_id, "first": first, "second": second,
        "train": train_id, "train_pair": train_pair, "night": night_id, "night_pair": night_pair,
    }


def test_a_result_names_the_branch_that_holds_the_pair_and_its_place(auth_client, tree):
    answer = search(auth_client, "sleeper still running")

    assert answer.status_code == HTTPStatus.OK
    [result] = answer.json()["results"]
    assert answer.json()["next_cursor"] is None
    assert result == {
        "chat_id": tree["chat_id"],
        "chat_title": "Trip to Lisbon",
        "branch_id": tree["night"],
        "branch_name": "night",
        "response_id": tree["night_pair"],
        "position": 2,
        "status": "complete",
        "timestamp": result["timestamp"],
        "matched": ["question"],
        "snippet": {
            "question": {"text": "Is the sleeper still running?", "highlights": [[7, 14], [15, 20], [21, 28]]},
        },
    }


def test_a_pair_inherited_by_every_branch_is_one_result_under_its_holder(auth_client, tree):
    assert found(auth_client, "Madrid") == [(tree["first"], tree["root"], 0)]
    assert found(auth_client, "train") == [
        (tree["train_pair"], tree["train"], 1),
        (tree["first"], tree["root"], 0),
    ]


def test_words_match_their_other_forms_phrases_exclusions_and_either(auth_client, tree):
    assert found(auth_client, "flies") == [(tree["second"], tree["root"], 1)]  # as "flying": fli
    assert found(auth_client, '"by plane, by bus"') == [(tree["first"], tree["root"], 0)]
    assert found(auth_client, '"bus by plane"') == []
    assert found(auth_client, "train -Madrid") == [(tree["train_pair"], tree["train"], 1)]
    assert sorted(found(auth_client, "Madrid or sleeper")) == sorted(
        [(tree["first"], tree["root"], 0), (tree["night_pair"], tree["night"], 2), (tree["train_pair"], tree["train"], 1)]
    )


def test_the_question_ranks_above_the_response_and_snippets_mark_each_field(auth_client, tree):
    answer = search(auth_client, "plane").json()["results"]

    assert [r["response_id"] for r in answer] == [tree["second"], tree["first"]]
    assert answer[0]["matched"] == ["question"]
    assert answer[1]["matched"] == ["response"]
    assert answer[1]["snippet"] == {"response": {"text": "By plane, by bus, or by train.", "highlights": [[3, 8]]}}


def test_another_users_pairs_and_hidden_chats_are_never_found(auth_client, other_client, tree, other_user):
    assert found(other_client, "Lisbon") == []
    mine = new_chat(other_client, "Mine", "Lisbon in spring?", "Warm enough.")
    assert [r[0] for r in found(other_client, "Lisbon")] == [mine[2]]

    Chat.objects.filter(pk=tree["chat_id"]).update(hidden=True)
    assert found(auth_client, "Lisbon") == []
    assert search(auth_client, "Lisbon", chat_id=tree["chat_id"]).status_code == HTTPStatus.NOT_FOUND
    assert search(other_client, "Lisbon", chat_id=tree["chat_id"]).status_code == HTTPStatus.NOT_FOUND


def test_chat_id_narrows_to_one_chat(auth_client, tree):
    other_id, _, other_first = new_chat(auth_client, "Porto", "Trains to Porto?", "Every hour.")

    assert [r[0] for r in found(auth_client, "trains", chat_id=other_id)] == [other_first]
    assert len(found(auth_client, "trains")) == 3


def test_pages_follow_the_cursor_without_repeats(auth_client, tree):
    seen, cursor = [], None
    for _ in range(4):
        params = {"page_size": 1, **({"cursor": cursor} if cursor else {})}
        page = search(auth_client, "Madrid or sleeper or train or plane", **params).json()
        seen += [r["response_id"] for r in page["results"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    everything = found(auth_client, "Madrid or sleeper or train or plane", page_size=50)

    assert seen == [r[0] for r in everything]
    assert len(seen) == 4


def test_deleting_a_branch_or_a_chat_takes_its_pairs_out(auth_client, tree):
    answer = auth_client.delete(DELETE_BRANCH, {"chat_id": tree["chat_id"], "branch_id": tree["train"], "cascade": True}, format="json")
    assert answer.status_code == HTTPStatus.NO_CONTENT
    assert found(auth_client, "sleeper") == []
    assert found(auth_client, "Madrid") == [(tree["first"], tree["root"], 0)]

    auth_client.delete(DELETE, {"chat_id": tree["chat_id"]}, format="json")
    assert found(auth_client, "Madrid") == []


@pytest.mark.parametrize(
    ("params", "attr", "code"),
    [
        ({"q": "   "}, "q", "blank"),
        ({"q": "x" * 201}, "q", "max_length"),
        ({"q": "-storm"}, "q", "no_search_terms"),
        ({"q": "the"}, "q", "no_search_terms"),
        ({"q": "sea", "cursor": "not-a-cursor"}, "cursor", "invalid"),
        ({"q": "sea", "page_size": "0"}, "page_size", "min_value"),
        ({"q": "sea", "chat_id": "12"}, "chat_id", "invalid"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(auth_client, params, attr, code):
    answer = auth_client.get(SEARCH, params)

    assert answer.status_code == HTTPStatus.BAD_REQUEST
    assert [(e["attr"], e["code"]) for e in answer.json()["errors"]] == [(attr, code)]


def test_search_needs_a_login(api_client):
    assert api_client.get(SEARCH, {"q": "sea"}).status_code == HTTPStatus.UNAUTHORIZED


def test_a_long_response_gives_a_window_of_its_own_text_around_the_match(auth_client):
    before = "Some words about trains and stations. " * 20
    after = " More about <code>timetables</code> and tickets." * 20
    chat_id, _, first = new_chat(auth_client, "Long", "A question", before + "The Lusitania ran nightly." + after)

    [result] = search(auth_client, "Lusitania").json()["results"]

    snippet = result["snippet"]["response"]
    text, [[start, end]] = snippet["text"], snippet["highlights"]
    assert text[start:end] == "Lusitania"
    assert text.startswith("… ") and text.endswith(" …")
    assert 150 <= len(text) <= 210
    assert "The Lusitania ran nightly. More about <code>timetables</code>" in text
