"""Every HTML page runs under the Content-Security-Policy: a script that got
into a page inline (as an injected message would) does not run, while the
page's own scripts and its one nonce-carrying inline script do."""

import pytest
from rest_framework_simplejwt.tokens import AccessToken

from chats.tests.factories import ChatFactory
from shares import services as share_services

pytestmark = pytest.mark.django_db(transaction=True)

INJECT = """() => {
    window.__injected = "no";
    const script = document.createElement("script");
    script.textContent = "window.__injected = 'ran'";
    document.head.appendChild(script);
    const attribute = document.createElement("img");
    attribute.setAttribute("src", "data:,");
    attribute.setAttribute("onerror", "window.__injected = 'ran'");
    document.body.appendChild(attribute);
    return new Promise((resolve) => setTimeout(() => resolve(window.__injected), 200));
}"""


@pytest.fixture
def pages(user):
    chat = ChatFactory(owner=user, title="Shared", pairs=2)
    share = share_services.share_create(user=user, chat_id=chat.id)
    return {
        "home": "/",
        "docs": "/docs",
        "redoc": "/redoc",
        "admin": "/admin/login/",
        "client": "/app/",
        "shared": f"/s/{share.token}",
    }


@pytest.mark.parametrize("name", ["home", "docs", "redoc", "admin", "client", "shared"])
def test_an_inline_script_is_blocked_on_every_page(page, live_server, pages, name):
    response = page.goto(f"{live_server.url}{pages[name]}")
    page.wait_for_load_state("networkidle")
    policy = response.headers["content-security-policy"]
    page.log.errors.clear()

    assert page.evaluate(INJECT) == "no"
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert any("Content Security Policy" in error for error in page.log.errors), page.log.errors


def test_the_pages_own_scripts_still_run(page, live_server, user):
    """The docs render (their scripts, and ReDoc's nonce-carrying inline one),
    and the client logs in."""
    page.goto(f"{live_server.url}/redoc")
    page.wait_for_selector("h2:has-text('Read a chat and a page of its path')")
    page.goto(f"{live_server.url}/docs")
    page.wait_for_selector("#operations-chats-chats_get_chat")
    assert str(AccessToken.for_user(user))  # the client's own login is tested in test_client_pages
