"""Helpers for the tests of the chat client at /app/: signing in through its
forms, reading what it shows, and reading what the API stores to compare."""

import re

from accounts.tests.factories import PASSWORD
from branches.tests.routes import GET_BRANCHES
from chats.tests.routes import GET

NOT_EMPTY = re.compile(r"\S")

# Each pair shown: [question, answer, status, "2 / 3" or None].
SHOWN_PAIRS = """articles => articles.map(a => [
  a.querySelector('.question-text').textContent,
  a.querySelector('.answer-text').textContent,
  a.dataset.status,
  a.querySelector('.switcher-count')?.textContent ?? null,
])"""

# Each branch of the tree: [name, marked active, where it forks · pairs, parent's name].
SHOWN_TREE = """items => items.map(li => {
  const row = li.querySelector(':scope > .branch-row');
  const parent = li.parentElement.closest('li.branch');
  return [
    row.querySelector('.branch-name').textContent,
    row.querySelector('.badge') !== null,
    row.querySelector('.branch-meta').textContent,
    parent ? parent.querySelector(':scope > .branch-row .branch-name').textContent : null,
  ];
})"""


def expect(target):
    # Imported late: without Playwright the browser tests skip (or fail under CI) in conftest.
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def sign_in(page, live_server, username, password=PASSWORD):
    page.goto(f"{live_server.url}/app/")
    page.fill("#login-username", username)
    page.fill("#login-password", password)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#whoami")).to_have_text(f"Signed in as {username}")


def shown_pairs(page):
    return page.locator("#pairs article").evaluate_all(SHOWN_PAIRS)


def shown_tree(page):
    return page.locator("#tree li.branch").evaluate_all(SHOWN_TREE)


def shown_chats(page):
    return page.locator("#chat-list .chat-title").all_inner_texts()


def open_chat_id(page):
    return page.evaluate("new URLSearchParams(location.hash.slice(1)).get('chat')")


def stored_page(api, chat_id, **params):
    response = api.get(GET, {"chat_id": chat_id, "limit": 1000, **params})
    assert response.status_code == 200, response.content
    return response.json()


def as_shown(page_body):
    """A page as the client should show it: [question, answer, status, "i / n" or None]."""
    rows = []
    for pair in page_body["messages"]:
        alternatives = pair["alternatives"]
        count = None
        if len(alternatives) > 1:
            count = f"{alternatives.index(pair['branch_id']) + 1} / {len(alternatives)}"
        rows.append([pair["question"], pair["response"], pair["status"], count])
    return rows


def stored_branches(api, chat_id):
    response = api.get(GET_BRANCHES, {"chat_id": chat_id})
    assert response.status_code == 200, response.content
    return response.json()
