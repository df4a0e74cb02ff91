"""The shared page as a person opens it: on a phone, with scripts off, from
a private window (no login), with every text shown as text."""

import pytest

from chats import services as chat_services
from chats.models import Chat
from chats.tests.factories import ChatFactory
from shares import services as share_services

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_shared_conversation_reads_on_a_phone_without_script(browser, live_server, user, screenshot):
    chat = ChatFactory(owner=user, title="Trip to Lisbon <script>alert(1)</script>", pairs=0)
    chat_services.message_add(user=user, chat_id=chat.id, question="Train or plane?", response="Train: the <b>sleeper</b>.")
    for i in range(60):
        chat_services.message_add(user=user, chat_id=chat.id, question=f"Question {i}", response=f"Answer {i} " * 30)
    share = share_services.share_create(user=user, chat_id=chat.id)
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False, is_mobile=True)
    page = context.new_page()
    requests = []
    page.on("request", lambda request: requests.append(request.url))

    response = page.goto(f"{live_server.url}/s/{share.token}")
    screenshot(page, "shared-page-phone")

    assert response.status == 200
    assert page.locator("h1").inner_text() == "Trip to Lisbon <script>alert(1)</script>"
    assert page.locator("article.pair").count() == 50
    assert page.locator("#p0 .response .text").inner_text() == "Train: the <b>sleeper</b>."
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.locator("nav.pages").inner_text().split("\n")[0].strip() == "Page 1 of 2"
    page.click("a[rel=next]")
    assert page.locator("article.pair").count() == 11
    assert page.locator("a.continue").get_attribute("href") == f"/app/#fork={share.token}"
    assert all(url.startswith(live_server.url) for url in requests), requests
    context.close()


def test_continue_this_conversation_forks_it_into_the_readers_chats(page, live_server, user, other_user, screenshot):
    from .chat_client import PASSWORD, expect, open_chat_id, shown_pairs

    chat = ChatFactory(owner=user, title="Owls at night", pairs=2)
    share = share_services.share_create(user=user, chat_id=chat.id)
    page.goto(f"{live_server.url}/s/{share.token}")
    page.click("a.continue")
    # Not signed in yet: the client asks for a login, then forks.
    page.fill("#login-username", other_user.username)
    page.fill("#login-password", PASSWORD)
    page.click("#login-form button[type=submit]")

    expect(page.locator("#chat-title")).to_have_text("Owls at night")
    screenshot(page, "shared-continued")
    forked = open_chat_id(page)
    assert forked != str(chat.id)
    assert [tuple(p[:2]) for p in shown_pairs(page)] == [("q0", "r0"), ("q1", "r1")]
    assert Chat.objects.get(pk=forked).owner == other_user
