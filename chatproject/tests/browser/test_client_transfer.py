"""Downloading a chat and importing chats from a file, in the chat client
in Chromium against the live server: each format downloads exactly what
export-chat answers, and a ChatGPT file with a regenerated answer (and a
broken conversation) is imported, reported and browsed."""

import json

import pytest

from chatproject.testing import client_for
from chats.tests.factories import ChatFactory
from transfer.tests.conversations import assistant, chain, conversation
from transfer.tests.conversations import user as question

from .chat_client import expect, open_chat_id, shown_pairs, shown_tree, sign_in

pytestmark = pytest.mark.django_db(transaction=True)

EXPORT = "/api/v1/chats/export-chat"


def test_each_format_downloads_what_the_api_exports(page, live_server, user, tmp_path):
    chat = ChatFactory(owner=user, title="Owls at night", pairs=2)
    api = client_for(user)

    sign_in(page, live_server, user.username)
    page.locator("#chat-list .chat-link", has_text="Owls at night").click()
    expect(page.locator("#chat-title")).to_have_text("Owls at night")
    for format, filename in [
        ("json", "owls-at-night.json"),
        ("chatgpt", "owls-at-night.conversations.json"),
        ("markdown", "owls-at-night.md"),
    ]:
        page.click("#download-menu summary")
        with page.expect_download() as download:
            page.click(f"#download-menu button[data-format={format}]")
        saved = tmp_path / filename
        download.value.save_as(saved)
        assert download.value.suggested_filename == filename
        assert saved.read_bytes() == api.get(EXPORT, {"chat_id": str(chat.id), "format": format}).content

    # Escape and a click elsewhere close the menu; on a phone it stays on screen.
    page.click("#download-menu summary")
    page.keyboard.press("Escape")
    expect(page.locator("#download-menu .menu-items")).to_be_hidden()
    page.set_viewport_size({"width": 375, "height": 760})
    page.click("#download-menu summary")
    box = page.locator("#download-menu .menu-items").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375, box
    page.click("#conversation")
    expect(page.locator("#download-menu .menu-items")).to_be_hidden()
    assert page.log.errors == []
    assert page.log.foreign(live_server.url) == []


def test_a_chatgpt_file_is_imported_reported_and_browsed(page, live_server, user, tmp_path, screenshot):
    regenerated = conversation(
        chain("Name a bird of the night", "The owl.")
        + [("u2", "n1", question("Another one?")), ("a2", "u2", assistant("The nightjar.")),
           ("a2b", "u2", assistant("The kiwi 🥝, in New Zealand."))],
        title="Night birds",
        current="a2b",
    )
    broken = conversation([("u1", "gone", question("?"))], title="Broken")
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([regenerated, broken]))

    sign_in(page, live_server, user.username)
    page.set_input_files("#import-file", str(path))

    expect(page.locator("#import-summary")).to_have_text(
        "conversations.json: 1 chat imported, 1 conversation skipped."
    )
    assert page.locator("#import-imported li").all_inner_texts() == ["Night birds · 2 branches, 3 pairs"]
    assert page.locator("#import-skipped li").all_inner_texts() == [
        "Broken · missing_parent: [1]: node 'u1' names parent 'gone', which is not in the mapping"
    ]
    screenshot(page, "client-import")
    page.click("#import-dialog button[value=ok]")
    expect(page.locator("#import-dialog")).to_be_hidden()

    expect(page.locator("#chat-list .chat-title")).to_have_text(["Night birds"])
    page.locator("#chat-list .chat-link", has_text="Night birds").click()
    expect(page.locator("#chat-title")).to_have_text("Night birds")
    expect(page.locator("#pairs article")).to_have_count(2)
    assert shown_pairs(page) == [
        ["Name a bird of the night", "The owl.", "complete", None],
        ["Another one?", "The kiwi 🥝, in New Zealand.", "complete", "2 / 2"],
    ]
    assert shown_tree(page) == [
        ["main", False, "root · 2 pairs", None],
        ["branch 1", True, "after pair 1 · 1 pair", "main"],
    ]
    assert open_chat_id(page) is not None
    screenshot(page, "client-imported-chat")
    assert page.log.errors == []
    assert page.log.foreign(live_server.url) == []
