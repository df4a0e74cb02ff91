"""The chat client end to end, in Chromium, against the live server and the
embedded model (llama.cpp running SmolLM2 in the test process): a newcomer
registers, asks, reloads mid-answer, stops, regenerates, switches
alternatives, edits a question, reloads, reads and prunes the tree, and logs
out. What the page shows is compared with what the API stores."""

import urllib.request

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import User
from chatproject.testing import client_for

from .chat_client import (
    NOT_EMPTY,
    as_shown,
    expect,
    open_chat_id,
    shown_chats,
    shown_pairs,
    shown_tree,
    sign_in,
    stored_branches,
    stored_page,
)

pytestmark = pytest.mark.django_db(transaction=True)

# Long enough that an answer is still being written when the test reloads or
# stops it (SmolLM2 writes about 30-80 tokens a second here), short enough to
# keep the test quick.
ANSWER_TOKENS = 200
GENERATION_TIMEOUT_MS = 60_000
# Questions that make the model write at length.
LONG = "Write a long story about a lighthouse keeper and a storm, with many details."
LONGER = "Write a long story about a dragon who learns to bake bread, with many details."


@pytest.fixture
def model(local_provider):
    local_provider.LLM_MAX_TOKENS = ANSWER_TOKENS
    return local_provider


def ask(page, question):
    page.fill("#question", question)
    page.press("#question", "Enter")


def answering(page, index):
    """The pair at `index` once its answer has started to stream in."""
    pair = page.locator("#pairs article").nth(index)
    expect(pair).to_have_attribute("data-status", "generating", timeout=GENERATION_TIMEOUT_MS)
    expect(pair.locator(".answer-text")).to_have_text(NOT_EMPTY, timeout=GENERATION_TIMEOUT_MS)
    return pair


def finished(pair, status="complete"):
    expect(pair).to_have_attribute("data-status", status, timeout=GENERATION_TIMEOUT_MS)
    return pair


def test_a_conversation_streamed_branched_and_pruned(model, page, live_server, screenshot):
    # The site root links the client; a newcomer registers there.
    page.goto(f"{live_server.url}/")
    page.click("text=Chat client")
    expect(page).to_have_url(f"{live_server.url}/app/")
    page.fill("#register-username", "ada")
    page.fill("#register-password", "correct-horse-battery-staple")
    page.click("#register-form button[type=submit]")
    expect(page.locator("#whoami")).to_have_text("Signed in as ada")
    api = client_for(User.objects.get(username="ada"))

    # A new chat: the first question creates it, the answer streams in.
    ask(page, LONG)
    first = answering(page, 0)
    expect(page.locator("#stop")).to_be_visible()
    finished(first)
    expect(page.locator("#send")).to_be_visible()
    chat_id = open_chat_id(page)
    assert shown_chats(page) == [LONG[:60]]  # the default title: the question's first 60 characters
    assert shown_pairs(page) == as_shown(stored_page(api, chat_id))

    # A reload mid-answer re-attaches to the generation and sees it finish.
    ask(page, LONG)
    second = answering(page, 1)
    response_id = second.get_attribute("data-response-id")
    before_reload = second.locator(".answer-text").text_content()
    page.reload()
    finished(page.locator("#pairs article").nth(1))
    attached = f"/api/v1/messages/stream-message?chat_id={chat_id}&response_id={response_id}"
    assert [url for url in page.log.requests if url.endswith(attached)] == [live_server.url + attached]
    stored = stored_page(api, chat_id)
    assert stored["messages"][1]["response"].startswith(before_reload)
    assert shown_pairs(page) == as_shown(stored)

    # Another one, stopped: kept as interrupted with the text written so far.
    ask(page, LONGER)
    third = answering(page, 2)
    screenshot(page, "client-streaming")
    page.click("#stop")
    finished(third, "interrupted")
    expect(third.locator(".pair-status")).to_have_text("Stopped: the answer is incomplete.")
    # The tree counts it too (a generated pair is counted once its text comes).
    expect(page.locator("#tree .branch-meta")).to_have_text(["root · 3 pairs"])
    stored = stored_page(api, chat_id)
    assert (stored["messages"][2]["status"], stored["messages"][2]["finish_reason"]) == ("interrupted", "interrupted")
    assert shown_pairs(page) == as_shown(stored)
    stopped_answer = stored["messages"][2]["response"]

    # Regenerate it: a new branch, the stopped answer kept as alternative 1 of 2.
    third.get_by_role("button", name="Regenerate").click()
    third = page.locator("#pairs article").nth(2)
    expect(third.locator(".switcher-count")).to_have_text("2 / 2")
    finished(third)
    tree = stored_branches(api, chat_id)
    root, regenerated = (b["branch_id"] for b in tree["branches"])
    assert tree["active_branch_id"] == regenerated
    assert shown_pairs(page) == as_shown(stored_page(api, chat_id))

    # Back and forth between the two answers, by keyboard after the first click:
    # the switch keeps the focus on the switcher.
    third.get_by_role("button", name="Previous alternative").click()
    expect(third.locator(".switcher-count")).to_have_text("1 / 2")
    expect(third.locator(".answer-text")).to_have_text(stopped_answer)
    assert stored_branches(api, chat_id)["active_branch_id"] == root
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Next alternative"
    page.keyboard.press("Enter")
    expect(third.locator(".switcher-count")).to_have_text("2 / 2")
    assert stored_branches(api, chat_id)["active_branch_id"] == regenerated
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Previous alternative"
    assert shown_pairs(page) == as_shown(stored_page(api, chat_id))

    # Edit the first question: a new branch before the first pair, answered.
    page.locator("#pairs article").first.get_by_role("button", name="Edit").click()
    page.get_by_label("Edited question").fill("What does a lighthouse keeper do? Answer in one sentence.")
    page.get_by_role("button", name="Send edited question").click()
    edited = page.locator("#pairs article").first
    expect(edited.locator(".question-text")).to_have_text("What does a lighthouse keeper do? Answer in one sentence.")
    expect(edited.locator(".switcher-count")).to_have_text("2 / 2")
    finished(edited)
    expect(page.locator("#pairs article")).to_have_count(1)

    # A reload shows the same branch.
    page.reload()
    expect(page.locator("#pairs article").first.locator(".switcher-count")).to_have_text("2 / 2")
    stored = stored_page(api, chat_id)
    assert stored["branch_id"] == stored_branches(api, chat_id)["active_branch_id"] != regenerated
    assert shown_pairs(page) == as_shown(stored)
    screenshot(page, "client-desktop")

    # The tree shows every branch, the active one marked.
    tree = stored_branches(api, chat_id)
    assert [(b["name"], b["is_active"]) for b in tree["branches"]] == [
        ("main", False),
        ("branch 1", False),
        ("branch 2", True),
    ]
    assert shown_tree(page) == [
        ["main", False, "root · 3 pairs", None],
        ["branch 1", False, "after pair 2 · 1 pair", "main"],
        ["branch 2", True, "before the first pair · 1 pair", "main"],
    ]

    # Delete a branch, after confirming.
    page.get_by_role("button", name="Delete branch branch 1").click()
    expect(page.locator("#confirm-text")).to_have_text("Its 1 pair will be deleted. This cannot be undone.")
    page.click("#confirm-ok")
    expect(page.locator("#tree li.branch")).to_have_count(2)
    assert [b["name"] for b in stored_branches(api, chat_id)["branches"]] == ["main", "branch 2"]
    assert shown_tree(page) == [
        ["main", False, "root · 3 pairs", None],
        ["branch 2", True, "before the first pair · 1 pair", "main"],
    ]

    # Log out: the tokens leave the tab and the refresh token is revoked.
    refresh = page.evaluate("JSON.parse(sessionStorage.getItem('branching-chat.tokens')).refresh")
    page.click("#logout")
    expect(page.locator("#login-form")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('branching-chat.tokens')") is None
    assert APIClient().post(reverse("auth-refresh"), {"refresh": refresh}, format="json").status_code == 401

    assert page.log.foreign(live_server.url) == []
    assert page.log.errors == []


def test_a_stream_cut_mid_answer_is_followed_again_to_its_end(model, page, live_server, user):
    api = client_for(user)
    sign_in(page, live_server, user.username)

    delivered = []

    def cut_after_first_delta(route):
        # The request goes to the server as usual; the browser gets the
        # stream up to the first delta, then the connection ends without
        # `done`, as when a phone's connection drops. The generation goes on.
        request = route.request
        headers = {k: v for k, v in request.headers.items() if k in ("authorization", "content-type", "accept")}
        upstream = urllib.request.Request(request.url, data=request.post_data_buffer, headers=headers, method="POST")
        body = b""
        with urllib.request.urlopen(upstream, timeout=30) as response:
            while b"event: delta" not in body or not body.endswith(b"\n\n"):
                line = response.readline()
                assert line, f"the stream ended before its first delta: {body!r}"
                body += line
        delivered.append(body)
        route.fulfill(status=200, headers={"Content-Type": "text/event-stream"}, body=body)

    page.route("**/api/v1/chats/create-chat", cut_after_first_delta)
    with page.expect_request("**/api/v1/messages/stream-message?*", timeout=GENERATION_TIMEOUT_MS) as attaching:
        ask(page, LONG)
    pair = page.locator("#pairs article").first
    expect(pair).to_have_attribute("data-status", "generating")  # re-attached while it is written
    finished(pair)
    chat_id = open_chat_id(page)
    response_id = pair.get_attribute("data-response-id")
    # It goes on after the last event it had (the first delta's id): nothing doubled, nothing lost.
    last_id = [line for line in delivered[0].decode().splitlines() if line.startswith("id: ")][-1][4:]
    assert attaching.value.url == (
        f"{live_server.url}/api/v1/messages/stream-message?chat_id={chat_id}&response_id={response_id}&after={last_id}"
    )
    assert shown_pairs(page) == as_shown(stored_page(api, chat_id))
    assert page.log.errors == []
