"""The alternatives of each pair on a page ("2 of 3"): which branches show
their own pair at the same position after the same history."""

from http import HTTPStatus

import pytest

from chats.tests.routes import GET, MESSAGES

from .routes import SET_ACTIVE
from .test_branch_api import add, fork, path

pytestmark = [pytest.mark.django_db, pytest.mark.chat_pairs(3)]


def alternatives(page):
    return [(m["question"], m["alternatives"]) for m in page["messages"]]


def test_a_path_without_forks_has_one_alternative_per_pair(auth_client, chat):
    root = str(chat.active_branch_id)

    page = path(auth_client, chat)

    assert alternatives(page) == [("q0", [root]), ("q1", [root]), ("q2", [root])]


def test_a_regenerated_answer_and_the_original_are_alternatives_on_both_paths(auth_client, chat):
    root = str(chat.active_branch_id)
    pairs = path(auth_client, chat)["messages"]
    # What regenerate does to q2: a branch after q1 repeating its question.
    again = fork(auth_client, chat, pairs[1]["response_id"], question="q2", response="r2 again")["branch_id"]

    on_new = path(auth_client, chat)
    on_root = path(auth_client, chat, branch_id=root)

    assert alternatives(on_new) == [("q0", [root]), ("q1", [root]), ("q2", [root, again])]
    assert alternatives(on_root) == [("q0", [root]), ("q1", [root]), ("q2", [root, again])]
    assert on_new["messages"][2]["branch_id"] == again
    assert on_root["messages"][2]["branch_id"] == root


def test_forks_before_the_first_pair_are_alternatives_of_the_first_pair(auth_client, chat):
    root = str(chat.active_branch_id)
    first = fork(auth_client, chat, None, question="q0, edited", response="r")["branch_id"]
    second = fork(auth_client, chat, None, question="q0, again", response="r")["branch_id"]

    assert alternatives(path(auth_client, chat)) == [("q0, again", [root, first, second])]
    assert alternatives(path(auth_client, chat, branch_id=root))[0] == ("q0", [root, first, second])


def test_branches_without_pairs_of_their_own_are_no_alternative(auth_client, chat):
    root = str(chat.active_branch_id)
    pairs = path(auth_client, chat)["messages"]
    fork(auth_client, chat, pairs[1]["response_id"])  # empty
    fork(auth_client, chat, None)  # empty, before the first pair

    assert alternatives(path(auth_client, chat, branch_id=root)) == [("q0", [root]), ("q1", [root]), ("q2", [root])]


def test_a_fork_after_the_last_pair_of_its_parent_has_no_continuation_beside_it(auth_client, chat):
    root = str(chat.active_branch_id)
    pairs = path(auth_client, chat)["messages"]
    one = fork(auth_client, chat, pairs[2]["response_id"], question="b0", response="r")["branch_id"]
    two = fork(auth_client, chat, pairs[2]["response_id"], question="c0", response="r")["branch_id"]

    assert alternatives(path(auth_client, chat))[3] == ("c0", [one, two])
    assert alternatives(path(auth_client, chat, branch_id=one))[3] == ("b0", [one, two])


def test_pairs_after_a_branchs_first_pair_and_forks_from_inherited_pairs(auth_client, chat):
    root = str(chat.active_branch_id)
    pairs = path(auth_client, chat)["messages"]
    side = fork(auth_client, chat, pairs[0]["response_id"], question="s1", response="r")["branch_id"]
    add(auth_client, chat, side, "s2")
    # Forked from q0 while reading `side`: q0 is held by the root, so this is
    # another fork of the root at position 1.
    other = fork(auth_client, chat, pairs[0]["response_id"], question="o1", response="r")["branch_id"]
    before_first = fork(auth_client, chat, None, question="x", response="r", activate=False)["branch_id"]
    # Forked after s1: an alternative of s2 only.
    s1 = path(auth_client, chat, branch_id=side)["messages"][1]["response_id"]
    under = fork(auth_client, chat, s1, question="u2", response="r")["branch_id"]

    assert alternatives(path(auth_client, chat, branch_id=side)) == [
        ("q0", [root, before_first]),
        ("s1", [root, side, other]),
        ("s2", [side, under]),
    ]
    assert alternatives(path(auth_client, chat, branch_id=under)) == [
        ("q0", [root, before_first]),
        ("s1", [root, side, other]),
        ("u2", [side, under]),
    ]


def test_an_older_page_knows_the_alternatives_of_its_pairs(auth_client, chat):
    root = str(chat.active_branch_id)
    pairs = path(auth_client, chat)["messages"]
    again = fork(auth_client, chat, pairs[0]["response_id"], question="q1", response="again")["branch_id"]
    add(auth_client, chat, again, "a2")
    latest = path(auth_client, chat, limit=1)

    older = auth_client.get(
        MESSAGES, {"chat_id": str(chat.id), "limit": 1, "before": latest["messages"][0]["response_id"]}
    ).json()

    assert alternatives(latest) == [("a2", [again])]
    assert alternatives(older) == [("q1", [root, again])]


def test_switching_to_an_alternative_shows_it_at_the_same_position(auth_client, chat):
    root = str(chat.active_branch_id)
    pairs = path(auth_client, chat)["messages"]
    again = fork(auth_client, chat, pairs[1]["response_id"], question="q2", response="r2 again")["branch_id"]
    shown = path(auth_client, chat)["messages"][2]
    index = shown["alternatives"].index(shown["branch_id"])

    previous = shown["alternatives"][index - 1]
    response = auth_client.put(SET_ACTIVE, {"chat_id": str(chat.id), "branch_id": previous}, format="json")

    assert (index, previous, response.status_code) == (1, root, HTTPStatus.OK)
    page = auth_client.get(GET, {"chat_id": str(chat.id)}).json()
    assert (page["branch_id"], page["messages"][2]["response"]) == (root, "r2")
    assert page["messages"][2]["alternatives"] == [root, again]


def test_a_pair_is_always_among_its_own_alternatives_whatever_the_counts_say(auth_client, chat):
    """A generated pair is stored just before it is counted: a page read in
    between shows it with its own branch among the alternatives."""
    from chats.models import Branch

    root = str(chat.active_branch_id)
    pairs = path(auth_client, chat)["messages"]
    again = fork(auth_client, chat, pairs[1]["response_id"], question="q2", response="r2 again")["branch_id"]
    first = fork(auth_client, chat, None, question="q0, edited", response="r")["branch_id"]
    # The counts as they are for a moment, before the latest pairs are counted.
    Branch.objects.filter(pk__in=[root, again, first]).update(message_count=0)

    on_root = path(auth_client, chat, branch_id=root)
    on_again = path(auth_client, chat, branch_id=again)
    on_first = path(auth_client, chat, branch_id=first)

    assert alternatives(on_root) == [("q0", [root]), ("q1", [root]), ("q2", [root])]
    assert alternatives(on_again)[2] == ("q2", [again])
    assert alternatives(on_first) == [("q0, edited", [first])]
