"""The chat client's features that need no model, in Chromium against the
live server: the chat list (paging on scroll, search, rename, delete), older
pairs on scrolling up, the branch tree (rename, cascade delete), the errors
the API can answer, tokens that refresh, the event-stream parser, and the
page at phone width."""

import datetime
import json
import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import User
from accounts.tests.factories import PASSWORD
from branches import services as branch_services
from chatproject.testing import client_for
from chats import content_repository, services
from chats.tests.factories import ChatFactory
from chats.tests.routes import GET

from .chat_client import (
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
from .conftest import PageLog

pytestmark = pytest.mark.django_db(transaction=True)


def open_chat(page, title):
    page.locator("#chat-list .chat-link", has_text=title).click()
    expect(page.locator("#chat-title")).to_have_text(title)


def notices(page):
    return page.locator("#notices .notice p").all_inner_texts()


def test_chat_list_pages_on_scroll_searches_renames_and_deletes(page, live_server, user, screenshot):
    for i in range(25):
        ChatFactory(owner=user, title=f"Trip {i:02}", pairs=1 if i == 3 else 0)
    api = client_for(user)

    sign_in(page, live_server, user.username)
    newest_first = [f"Trip {i:02}" for i in range(24, -1, -1)]
    expect(page.locator("#chat-list li")).to_have_count(20)
    assert shown_chats(page) == newest_first[:20]
    page.locator("#more-chats").scroll_into_view_if_needed()
    expect(page.locator("#chat-list li")).to_have_count(25)
    assert shown_chats(page) == newest_first
    expect(page.locator("#more-chats")).to_be_hidden()

    page.fill("#chat-search", "trip 1")
    expect(page.locator("#chat-list li")).to_have_count(10)
    assert shown_chats(page) == [f"Trip {i}" for i in range(19, 9, -1)]
    page.fill("#chat-search", "")
    expect(page.locator("#chat-list li")).to_have_count(20)
    page.locator("#more-chats").scroll_into_view_if_needed()
    expect(page.locator("#chat-list li")).to_have_count(25)

    # Rename: the chat moves to the top, as list-chats orders it.
    page.locator("#chat-list .chat-link", has_text="Trip 03").click()
    chat_id = open_chat_id(page)
    expect(page.locator("#pairs article")).to_have_count(1)
    page.click("#rename-chat")
    page.fill("#rename-input", "Lisbon in two days")
    page.keyboard.press("Enter")
    expect(page.locator("#chat-title")).to_have_text("Lisbon in two days")
    assert shown_chats(page)[0] == "Lisbon in two days"
    assert stored_page(api, chat_id)["title"] == "Lisbon in two days"

    # Delete asks first; cancelling keeps the chat.
    page.click("#delete-chat")
    expect(page.locator("#confirm-text")).to_have_text(
        "“Lisbon in two days”, its 1 branch and all their messages will be deleted. This cannot be undone."
    )
    page.keyboard.press("Escape")
    assert api.get(GET, {"chat_id": chat_id}).status_code == 200
    page.click("#delete-chat")
    page.click("#confirm-ok")
    expect(page.locator("#chat-title")).to_have_text("New chat")
    assert "Lisbon in two days" not in shown_chats(page)
    assert api.get(GET, {"chat_id": chat_id}).status_code == 404
    assert page.log.errors == []
    assert page.log.foreign(live_server.url) == []


def test_older_pairs_load_when_scrolling_up(page, live_server, user):
    chat = ChatFactory(owner=user, title="Long one", pairs=70)

    sign_in(page, live_server, user.username)
    open_chat(page, "Long one")
    expect(page.locator("#pairs article")).to_have_count(30)
    assert [q for q, *_ in shown_pairs(page)] == [f"q{i}" for i in range(40, 70)]

    page.locator("#conversation").evaluate("box => { box.scrollTop = 0; }")
    expect(page.locator("#pairs article")).to_have_count(60)
    page.locator("#conversation").evaluate("box => { box.scrollTop = 0; }")
    expect(page.locator("#pairs article")).to_have_count(70)
    expect(page.locator("#older")).to_be_hidden()
    assert shown_pairs(page) == as_shown(stored_page(client_for(user), str(chat.id)))
    assert page.log.errors == []


def test_the_tree_switches_renames_and_deletes_with_cascade(page, live_server, user, screenshot):
    chat = ChatFactory(owner=user, title="Branchy", pairs=3)
    first = content_repository.read_pairs_before(chat_id=chat.id, branch_id=chat.active_branch_id, limit=3)[0]
    side, side_first = branch_services.branch_create(
        user=user, chat_id=chat.id, response_id=first.response_id, name="side", question="s1", response="r"
    )
    branch_services.branch_create(
        user=user, chat_id=chat.id, response_id=side_first.response_id, name="deeper", question="d2", response="r"
    )
    api = client_for(user)

    sign_in(page, live_server, user.username)
    open_chat(page, "Branchy")
    assert shown_tree(page) == [
        ["main", False, "root · 3 pairs", None],
        ["side", False, "after pair 1 · 1 pair", "main"],
        ["deeper", True, "after pair 2 · 1 pair", "side"],
    ]
    assert shown_pairs(page) == [["q0", "r0", "complete", None], ["s1", "r", "complete", "2 / 2"], ["d2", "r", "complete", None]]
    screenshot(page, "client-tree")

    page.click("#tree >> text=main")
    expect(page.locator("#chat-branch")).to_have_text("on branch “main”")
    assert stored_branches(api, str(chat.id))["active_branch_id"] == str(chat.active_branch_id)
    assert shown_pairs(page) == as_shown(stored_page(api, str(chat.id)))

    page.get_by_role("button", name="Rename branch side").click()
    page.fill("#rename-input", "cheaper")
    page.click("#rename-dialog button[value=ok]")
    expect(page.locator("#tree .branch-name", has_text="cheaper")).to_be_visible()
    assert [b["name"] for b in stored_branches(api, str(chat.id))["branches"]] == ["main", "cheaper", "deeper"]

    page.get_by_role("button", name="Delete branch cheaper").click()
    expect(page.locator("#confirm-text")).to_have_text(
        "It has 1 branch of its own (“deeper”), which would be deleted with it, with all their messages. "
        "This cannot be undone."
    )
    expect(page.locator("#confirm-ok")).to_have_text("Delete 2 branches")
    page.click("#confirm-ok")
    expect(page.locator("#tree li.branch")).to_have_count(1)
    assert [b["name"] for b in stored_branches(api, str(chat.id))["branches"]] == ["main"]
    assert page.log.errors == []


def test_a_chat_locked_while_open_says_so_and_becomes_read_only(local_provider, page, live_server, user):
    chat = ChatFactory(owner=user, title="Locked", pairs=2)
    sign_in(page, live_server, user.username)
    open_chat(page, "Locked")

    services.chat_moderate(chat_id=chat.id, action="lock")
    page.fill("#question", "Still there?")
    page.press("#question", "Enter")

    expect(page.locator("#notices .notice")).to_have_count(1)
    assert notices(page) == ["A moderator locked this chat: you can read it, but not change it."]
    expect(page.locator("#chat-locked")).to_be_visible()
    expect(page.locator("#composer")).to_be_hidden()
    expect(page.locator("#chat-status")).to_have_text("locked")
    expect(page.locator("#rename-chat")).to_be_hidden()
    assert page.locator("#pairs button", has_text="Regenerate").count() == 0
    assert page.locator("#pairs button", has_text="Edit").count() == 0
    assert page.locator("#tree button", has_text="Rename").count() == 0
    assert [e.split("?")[0] for e in page.log.errors if e[:3].isdigit()] == [
        f"409 POST {live_server.url}/api/v1/messages/add-message"
    ]


def test_api_errors_are_said_in_words(page, live_server, user, settings, content_store, screenshot):
    ChatFactory(owner=user, title="Not read yet")  # so its page is not in the cache
    ChatFactory(owner=user, title="Errors", pairs=1)
    settings.THROTTLE_GENERATE_RATE = "2/minute"
    # A model server that is not there: the question is kept, failed.
    settings.LLM_PROVIDER = "openai"
    settings.LLM_BASE_URL = "http://127.0.0.1:9/v1"
    settings.LLM_API_KEY = "none"
    settings.LLM_TIMEOUT = 5.0

    sign_in(page, live_server, user.username)
    open_chat(page, "Errors")
    page.fill("#question", "Is anyone there?")
    page.press("#question", "Enter")
    failed = page.locator("#pairs article").nth(1)
    expect(failed).to_have_attribute("data-status", "failed")
    failure = "No answer: the language model could not be reached. Regenerate to try again."
    expect(failed.locator(".pair-status")).to_have_text(failure)
    expect(page.locator("#notices .notice")).to_have_count(1)
    assert notices(page) == [
        "The language model cannot be reached right now. Your question is kept: use Regenerate once it is back."
    ]
    page.click("#notices button")
    # After a reload the failed answer still says why (the pair's error_code).
    page.reload()
    expect(page.locator("#pairs article").nth(1).locator(".pair-status")).to_have_text(failure)
    screenshot(page, "client-failed-answer")

    # Regenerating counts as a generation too: the second is over the rate.
    failed.get_by_role("button", name="Regenerate").click()
    expect(page.locator("#notices .notice")).to_have_count(1)
    assert notices(page)[0].startswith("The language model cannot be reached")
    page.click("#notices button")
    page.fill("#question", "And now?")
    page.press("#question", "Enter")
    expect(page.locator("#notices .notice")).to_have_count(1)
    assert re.fullmatch(r"Too many requests: try again in \d+ s\.", notices(page)[0])
    # The question is not lost: it is back in the box to send again.
    expect(page.locator("#question")).to_have_value("And now?")
    page.click("#notices button")

    # The content store goes down: the page says so and offers to try again.
    content_store.down()
    page.locator("#chat-list .chat-link", has_text="Not read yet").click()
    expect(page.locator("#notices .notice")).to_have_count(1)
    assert notices(page) == [
        "The service cannot reach its data store right now; nothing was changed. Try again in a moment."
    ]
    expect(page.locator("#chat-unavailable")).to_be_visible()
    expect(page.locator("#chat-title")).to_have_text("Not read yet")
    expect(page.locator("#composer")).to_be_hidden()
    screenshot(page, "client-store-outage")
    content_store.up()
    page.click("#retry-chat")
    expect(page.locator("#conversation-empty")).to_be_visible()
    expect(page.locator("#composer")).to_be_visible()
    expect(page.locator("#tree li.branch")).to_have_count(1)
    # The two error answers, and the browser's own console line for each; nothing else.
    answers = [e.split("?")[0] for e in page.log.errors if e[:3].isdigit()]
    assert answers == [f"429 POST {live_server.url}/api/v1/messages/add-message", f"503 GET {live_server.url}/api/v1/chats/get-chat"]
    assert sorted(e for e in page.log.errors if not e[:3].isdigit()) == [
        "Failed to load resource: the server responded with a status of 429 (Too Many Requests)",
        "Failed to load resource: the server responded with a status of 503 (Service Unavailable)",
    ]


class ContentStore:
    """`down()` points the content store at a closed port, as the `mongo_down` fixture does; `up()` undoes it."""

    def __init__(self, uri):
        self.uri = uri

    def down(self):
        content_repository.connect("mongodb://127.0.0.1:1/chat_test?serverSelectionTimeoutMS=500")

    def up(self):
        content_repository.connect(self.uri)


@pytest.fixture
def content_store(settings):
    store = ContentStore(settings.MONGODB_URI)
    yield store
    store.up()


def test_tokens_refresh_before_they_expire_and_survive_a_reload(page, live_server, user, monkeypatch):
    # Access tokens that expire within the client's margin: every request refreshes first.
    monkeypatch.setattr(AccessToken, "lifetime", datetime.timedelta(seconds=20))
    ChatFactory(owner=user, title="Kept", pairs=1)

    sign_in(page, live_server, user.username)
    open_chat(page, "Kept")
    first = page.evaluate("JSON.parse(sessionStorage.getItem('branching-chat.tokens'))")
    page.reload()
    expect(page.locator("#chat-title")).to_have_text("Kept")
    expect(page.locator("#pairs article")).to_have_count(1)
    second = page.evaluate("JSON.parse(sessionStorage.getItem('branching-chat.tokens'))")

    assert second["refresh"] != first["refresh"]
    assert RefreshToken(second["refresh"])["user_id"] == str(user.id)
    # Rotated: the refresh token the page held before is refused now.
    assert APIClient().post(reverse("auth-refresh"), {"refresh": first["refresh"]}, format="json").status_code == 401
    refreshes = [url for url in page.log.requests if url.endswith("/api/v1/auth/refresh")]
    assert len(refreshes) >= 2  # at least once before the reload and once after
    assert page.log.errors == []  # no request went out with an expired token


def test_the_event_stream_parser_handles_any_split(page, live_server):
    events = [
        {"event": "pair", "data": {"response_id": "x", "response": ""}, "id": "0"},
        {"event": "delta", "data": {"response_id": "x", "text": "Olá, 世界 🌍\n", "offset": 0}, "id": "11"},
        {"event": "done", "data": {"response_id": "x", "status": "complete"}, "id": "end"},
    ]
    page.goto(f"{live_server.url}/app/")
    parsed = page.evaluate(
        """async (events) => {
          const { readEvents } = await import("/static/webclient/sse.js");
          const lines = events.map(e => `id: ${e.id}\\nevent: ${e.event}\\ndata: ${JSON.stringify(e.data)}\\n\\n`);
          const text = ": keep-alive\\n\\n" + lines.join("").replace(/\\n/g, "\\r\\n");
          const bytes = new TextEncoder().encode(text);
          const results = [];
          for (const size of [1, 2, 3, 7, 64, bytes.length]) {
            const body = new ReadableStream({
              start(controller) {
                for (let i = 0; i < bytes.length; i += size) controller.enqueue(bytes.slice(i, i + size));
                controller.close();
              },
            });
            const got = [];
            for await (const event of readEvents(body)) got.push(event);
            results.push(got);
          }
          return results;
        }""",
        events,
    )
    assert parsed == [events] * 6
    assert json.dumps(parsed[0][1]["data"]["text"], ensure_ascii=False) == '"Olá, 世界 🌍\\n"'


def test_the_page_at_phone_width(browser, live_server, user, screenshot):
    chat = ChatFactory(owner=user, title="A chat with a rather long title, read on a phone", pairs=2)
    first = content_repository.read_pairs_before(chat_id=chat.id, branch_id=chat.active_branch_id, limit=2)[0]
    branch_services.branch_create(
        user=user, chat_id=chat.id, response_id=first.response_id, question="q1, asked again", response="A shorter answer."
    )
    context = browser.new_context(viewport={"width": 375, "height": 740}, locale="en-US", is_mobile=True, has_touch=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.log = PageLog(page)
    try:
        page.goto(f"{live_server.url}/app/")
        screenshot(page, "client-phone-login")
        sign_in(page, live_server, user.username)
        expect(page.locator("#chats-panel")).not_to_be_visible()
        page.click("#toggle-chats")
        expect(page.locator("#toggle-chats")).to_have_attribute("aria-expanded", "true")
        screenshot(page, "client-phone-chats", full_page=False)
        open_chat(page, "A chat with a rather long title, read on a phone")
        expect(page.locator("#chats-panel")).not_to_be_visible()
        expect(page.locator("#pairs article")).to_have_count(2)
        screenshot(page, "client-phone-conversation", full_page=False)
        page.click("#toggle-tree")
        expect(page.locator("#tree li.branch")).to_have_count(2)
        screenshot(page, "client-phone-tree", full_page=False)
        page.keyboard.press("Escape")
        expect(page.locator("#tree-panel")).not_to_be_visible()

        # Nothing is wider than the screen.
        assert page.evaluate("document.documentElement.scrollWidth") == 375
        assert page.log.errors == []
        assert page.log.foreign(live_server.url) == []
    finally:
        context.close()


def test_signing_in_with_a_wrong_password_says_so(page, live_server, user):
    page.goto(f"{live_server.url}/app/")
    page.fill("#login-username", user.username)
    page.fill("#login-password", PASSWORD + "x")
    page.click("#login-form button[type=submit]")

    expect(page.locator("#login-error")).to_have_text("Unknown username or wrong password.")
    page.fill("#register-username", "bob")
    page.fill("#register-password", "password")
    page.click("#register-form button[type=submit]")
    expect(page.locator("#register-error")).to_have_text("password: This password is too common.")
    assert not User.objects.filter(username="bob").exists()
