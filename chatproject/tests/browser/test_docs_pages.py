"""/docs and /redoc in a real browser: everything they load comes from the
service itself, they log no error, and Swagger UI can call the API."""

import re

import pytest
from rest_framework_simplejwt.tokens import AccessToken

from chats.tests.factories import ChatFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_swagger_ui_loads_only_local_assets_without_errors(page, live_server, screenshot):
    page.goto(f"{live_server.url}/docs")
    page.wait_for_selector("#operations-chats-chats_get_chat")
    page.wait_for_load_state("networkidle")
    screenshot(page, "docs")

    assert page.log.foreign(live_server.url) == []
    assert page.log.errors == []
    # Grouped by resource, in this order, each operation with its summary.
    tags = page.locator(".opblock-tag-section h3 .nostyle span").all_inner_texts()
    assert tags == ["auth", "chats", "messages", "branches", "search", "shares", "health"]
    assert "Read a chat and a page of its path" in page.inner_text("#operations-chats-chats_get_chat")


def test_redoc_loads_only_local_assets_without_errors(page, live_server, screenshot):
    page.goto(f"{live_server.url}/redoc")
    page.wait_for_selector("h2:has-text('Read a chat and a page of its path')")
    page.wait_for_load_state("networkidle")
    screenshot(page, "redoc", full_page=False)  # the whole page is some 19,000 pixels high

    assert page.log.foreign(live_server.url) == []
    assert page.log.errors == []
    # The footer keeps its text link; its logo, from Redocly's CDN, is dropped.
    assert page.locator("a[href='https://redocly.com/redoc/']").inner_text().strip() == "API docs by Redocly"
    assert page.locator("img[alt='redocly logo']").count() == 0


def test_swagger_ui_authorize_and_try_it_out_on_get_chat(page, live_server, user, screenshot):
    chat = ChatFactory(owner=user, title="Tried out", pairs=2)
    token = str(AccessToken.for_user(user))
    page.goto(f"{live_server.url}/docs")
    operation = page.locator("#operations-chats-chats_get_chat")
    operation.locator(".opblock-summary").click()

    page.click("button.authorize")
    page.fill(".modal-ux input[type=text]", token)
    page.click(".modal-ux button.authorize")
    page.click(".modal-ux button.btn-done")
    operation.locator("button.try-out__btn").click()
    operation.locator("tr[data-param-name='chat_id'] input").fill(str(chat.id))
    with page.expect_response(re.compile(r"/api/v1/chats/get-chat\?")) as called:
        operation.locator("button.execute").click()
    operation.locator(".live-responses-table tbody .response-col_status").first.wait_for()
    screenshot(page, "docs-try-it-out")

    response = called.value
    assert response.status == 200
    assert response.request.headers["authorization"] == f"Bearer {token}"
    body = response.json()
    assert (body["chat_id"], body["title"], [m["question"] for m in body["messages"]]) == (
        str(chat.id),
        "Tried out",
        ["q0", "q1"],
    )
    assert operation.locator(".live-responses-table tbody .response-col_status").first.inner_text().strip() == "200"
    assert page.log.errors == []
