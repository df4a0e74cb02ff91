"""The chat client reading streams, in Chromium: an answer with characters
outside the Basic Multilingual Plane, which JavaScript counts twice, shown
intact at every moment of its streaming, not only once it is done."""

import time

import pytest

from chatproject.testing import client_for
from chats.tests.factories import ChatFactory

from .chat_client import NOT_EMPTY, expect, open_chat_id, sign_in, stored_page

pytestmark = pytest.mark.django_db(transaction=True)

# Each character the model writes at a word's start carries one outside the
# BMP: a real server's answer, through a proxy of ours.
EMOJI = "🐟"


def with_emoji(text: str) -> str:
    return text.replace(" ", f" {EMOJI}")


def test_an_answer_outside_the_basic_multilingual_plane_streams_intact(
    page, live_server, user, openai_provider, model_proxy, screenshot
):
    openai_provider.LLM_BASE_URL = model_proxy.url
    openai_provider.LLM_MAX_TOKENS = 60
    model_proxy.rewrite = with_emoji
    model_proxy.line_delay = 0.05
    sign_in(page, live_server, user.username)

    page.fill("#question", "Describe the sea in a few sentences.")
    page.press("#question", "Enter")
    answer = page.locator("#pairs article").nth(0)
    expect(answer).to_have_attribute("data-status", "generating", timeout=30_000)
    seen = []
    deadline = time.monotonic() + 60
    while answer.get_attribute("data-status") == "generating" and time.monotonic() < deadline:
        seen.append(answer.locator(".answer-text").text_content())
        time.sleep(0.02)
    expect(answer).to_have_attribute("data-status", "complete")
    screenshot(page, "client-emoji-answer")

    final = stored_page(client_for(user), open_chat_id(page))["messages"][0]["response"]
    assert EMOJI in final
    assert answer.locator(".answer-text").text_content() == final
    streaming = [text for text in seen if text]
    assert len({len(text) for text in streaming}) >= 3  # it was read while it grew
    # Every moment of the stream showed the beginning of the answer, no
    # character split or misplaced.
    assert [text for text in streaming if not final.startswith(text)] == []
    assert page.log.errors == []


def test_an_answer_shows_while_the_chat_is_read_again(page, live_server, user, openai_provider, model_proxy):
    """The `pair` event is enough to show the question and its answer as it
    streams in: the reads of the chat that follow it (its alternatives, the
    tree) come when they come."""
    openai_provider.LLM_BASE_URL = model_proxy.url
    model_proxy.line_delay = 0.05
    chat = ChatFactory(owner=user, pairs=1)
    sign_in(page, live_server, user.username)
    page.goto(f"{live_server.url}/app/#chat={chat.id}")
    page.reload()
    expect(page.locator("#pairs article")).to_have_count(1)
    held, releasing = [], []

    def hold(route):
        if releasing:
            route.continue_()
        else:
            held.append(route)

    for pattern in ("**/api/v1/chats/get-chat?*", "**/api/v1/branches/get-branches?*"):
        page.route(pattern, hold)

    page.fill("#question", "Describe the sea.")
    page.press("#question", "Enter")

    answer = page.locator("#pairs article").nth(1)
    expect(answer.locator(".question-text")).to_have_text("Describe the sea.")
    expect(answer.locator(".answer-text")).to_have_text(NOT_EMPTY)
    assert held  # asked for, and not answered yet
    releasing.append(True)
    for route in held:
        route.continue_()
    expect(answer).to_have_attribute("data-status", "complete", timeout=30_000)
    assert page.log.errors == []
