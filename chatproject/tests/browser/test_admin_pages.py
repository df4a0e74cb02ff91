"""The admin as a moderator uses it, in a real browser: logging in, reading a
chat's tree and path, and each moderation action with its effect on the
owner, seen through the API."""

from http import HTTPStatus

import pytest

from accounts.tests.factories import PASSWORD, UserFactory
from branches import services as branch_services
from chatproject.testing import client_for
from chats import content_repository
from chats.tests.factories import ChatFactory
from chats.tests.routes import ADD, GET

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(page, live_server):
    UserFactory(username="moderator", is_staff=True, is_superuser=True)
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "moderator")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("text=Site administration")


def test_admin_login_and_a_chats_tree_and_path(page, live_server, user, screenshot):
    chat = ChatFactory(owner=user, title="Trip planning", pairs=3)
    second = content_repository.read_pairs_before(chat_id=chat.id, branch_id=chat.active_branch_id, limit=3)[1]
    branch_services.branch_create(
        user=user, chat_id=chat.id, response_id=second.response_id, name="cheaper", question="And on a budget?", response="Walk."
    )

    log_in(page, live_server)
    page.goto(f"{live_server.url}/admin/chats/chat/{chat.id}/change/")
    screenshot(page, "admin-chat")

    tree = page.locator("#branch-tree li").all_inner_texts()
    assert [" ".join(item.split()) for item in tree] == [
        "main — root · 3 pairs of its own",
        "└ cheaper — forks after pair 2: “q1” · 1 pair of its own (active) (shown below)",
    ]
    rows = page.locator("#branch-path tbody tr")
    assert rows.evaluate_all("rows => rows.map(r => [r.cells[0].innerText, r.cells[1].innerText, r.className])") == [
        ["1", "q0", "inherited"],
        ["2", "q1", "inherited"],
        ["3", "And on a budget?", "own"],
    ]
    assert page.log.errors == []

    page.click("#branch-tree >> text=main")
    page.wait_for_selector("text=Path of “main”")
    assert page.locator("#branch-path tbody tr").count() == 3
    assert page.locator("#branch-path tbody tr.inherited").count() == 0


def test_each_moderation_action_and_its_effect_on_the_owner(page, live_server, user, screenshot):
    chat = ChatFactory(owner=user, title="Moderated", pairs=1)
    api = client_for(user)
    log_in(page, live_server)

    def run(action):
        page.goto(f"{live_server.url}/admin/chats/chat/")
        page.check(f"input[name=_selected_action][value='{chat.pk}']")
        page.select_option("select[name=action]", action)
        page.click("button[name=index]")
        page.wait_for_load_state()

    def message():
        return page.locator("ul.messagelist li").first.inner_text().strip()

    def write():
        return api.post(ADD, {"chat_id": str(chat.id), "question": "q", "response": "r"}, format="json").status_code

    def read():
        return api.get(GET, {"chat_id": str(chat.id)})

    run("lock")
    assert message() == "1 chat locked."
    assert (read().json()["status"], write()) == ("locked", HTTPStatus.CONFLICT)

    run("lock")
    assert message() == "No chat was locked: the 1 selected is already locked."

    run("hide")
    assert message() == "1 chat hidden."
    assert (read().status_code, write()) == (HTTPStatus.NOT_FOUND, HTTPStatus.NOT_FOUND)

    run("restore")
    assert message() == "1 chat restored."
    # Restored as it was before hiding: still locked.
    assert (read().json()["status"], write()) == ("locked", HTTPStatus.CONFLICT)

    run("unlock")
    assert message() == "1 chat unlocked."
    assert (read().json()["status"], write()) == ("active", HTTPStatus.CREATED)

    run("delete_with_content")
    page.wait_for_selector("text=Are you sure you want to delete the selected chats?")
    screenshot(page, "admin-delete-confirmation")
    assert read().status_code == HTTPStatus.OK  # nothing gone before confirming
    assert " ".join(page.locator("#deleted-chats li").inner_text().split()) == (
        f"Moderated of {user.username} (active): 1 branch, 2 pairs"
    )
    page.click("input[value='Yes, delete them and their content']")
    page.wait_for_selector("ul.messagelist")
    assert message() == "1 chat deleted."
    assert read().status_code == HTTPStatus.NOT_FOUND
    assert page.log.errors == []
