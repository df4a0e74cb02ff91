"""Searching messages and sharing a branch in the chat client, in Chromium
against the live server: a result opens the branch that holds the pair,
scrolled to it, its words marked; a link is created, shown, listed and
revoked."""

import re

import pytest

from branches import services as branch_services
from chats import content_repository
from chats import services as chat_services
from chats.tests.factories import ChatFactory
from shares.models import Share

from .chat_client import expect, open_chat_id, sign_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.requires_postgres]


def test_a_search_result_opens_the_branch_that_holds_the_pair(page, live_server, user, screenshot):
    chat = ChatFactory(owner=user, title="Trip to Lisbon", pairs=3)
    first = content_repository.read_pairs_before(chat_id=chat.id, branch_id=chat.active_branch_id, limit=1)[0]
    branch, pair = branch_services.branch_create(
        user=user, chat_id=chat.id, response_id=first.response_id, question="Is the night train still running?",
        response="No: the Lusitania sleeper stopped in 2020.", name="by train", activate=False,
    )
    chat_services.message_add(user=user, chat_id=chat.id, question="And <b>buses</b>?", response="Every hour.")

    sign_in(page, live_server, user.username)
    page.fill("#message-search", '"night train" -plane')
    result = page.locator(".search-result")
    expect(result).to_have_count(1)
    expect(result.locator(".result-where")).to_have_text("Trip to Lisbon · by train")
    assert result.locator("mark").all_inner_texts() == ["night", "train"]
    screenshot(page, "client-search")
    result.click()

    article = page.locator(f"#pair-{pair.response_id}")
    expect(article).to_have_class(re.compile(r"\bfound\b"))
    assert open_chat_id(page) == str(chat.id)
    expect(page.locator("#chat-branch")).to_contain_text("by train")
    assert article.locator(".question-text mark").all_inner_texts() == ["night", "train"]
    assert article.locator(".question-text").inner_text() == "Is the night train still running?"
    screenshot(page, "client-search-opened")

    page.fill("#message-search", "buses")
    # Markup in a message stays text in the snippet.
    expect(page.locator(".search-result .result-question")).to_have_text("And <b>buses</b>?")
    expect(page.locator(".search-result")).to_have_count(1)
    assert page.locator(".search-result .result-question b").count() == 0


def test_a_branch_is_shared_copied_listed_and_revoked(page, live_server, user, screenshot):
    ChatFactory(owner=user, title="Owls at night", pairs=2)

    sign_in(page, live_server, user.username)
    page.locator("#chat-list .chat-link", has_text="Owls at night").click()
    page.click("#share-chat")
    page.click("#share-create")
    expect(page.locator("#share-created")).to_be_visible()
    share = Share.objects.get()
    assert page.input_value("#share-url") == f"{live_server.url}/s/{share.token}"
    expect(page.locator("#share-list li")).to_have_count(1)
    screenshot(page, "client-share")

    page.locator("#share-list li button", has_text="Revoke").click()

    expect(page.locator("#share-list li")).to_have_count(0)
    expect(page.locator("#share-created")).to_be_hidden()
    assert not Share.objects.exists()
    assert page.context.request.get(f"{live_server.url}/s/{share.token}").status == 404
