"""Moderation through the Django admin, as a superuser and as a moderator."""

import contextlib
import uuid
from http import HTTPStatus

import pytest
from django.conf import settings
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.tests.factories import UserFactory
from branches import services as branch_services
from chatproject.testing import client_for
from chats import content_repository
from chats.models import Branch, Chat, ChatStatus

from .factories import ChatFactory
from .routes import ADD, GET

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:chats_chat_changelist")


@contextlib.contextmanager
def mongodb_up_for_a_moment():
    """Within a test that took MongoDB down: the working store, for a moment."""
    content_repository.connect(settings.MONGODB_URI)
    try:
        yield
    finally:
        content_repository.connect("mongodb://127.0.0.1:1/chat_test?serverSelectionTimeoutMS=200")


def change_url(chat):
    return reverse("admin:chats_chat_change", args=[chat.pk])


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def moderator(db):
    user = UserFactory(username="mod", is_staff=True)
    user.groups.add(Group.objects.get(name="moderators"))
    return user


@pytest.fixture
def moderator_client(client, moderator):
    client.force_login(moderator)
    return client


@pytest.fixture(params=["superuser", "moderator"])
def staff_client(request):
    return request.getfixturevalue(f"{request.param}_client")


def act(client, action, *chats):
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": [str(c.pk) for c in chats]}, follow=True
    )


def test_moderators_group_has_only_moderation_permissions():
    codenames = set(Group.objects.get(name="moderators").permissions.values_list("codename", flat=True))

    assert codenames == {"view_chat", "change_chat", "delete_chat", "view_branch", "view_user"}


def test_changelist_shows_owner_status_branches_pairs(staff_client, user):
    chat = ChatFactory(owner=user, title="Visible chat", pairs=4)
    first = content_repository.read_pairs_before(chat_id=chat.id, branch_id=chat.active_branch_id, limit=1)[0]
    branch_services.branch_create(user=user, chat_id=chat.id, response_id=first.response_id, question="q", response="r")

    response = staff_client.get(CHANGELIST)

    assert response.status_code == HTTPStatus.OK
    row = next(r for r in response.context["cl"].result_list if r.pk == chat.pk)
    assert (row.branch_total, row.pair_total) == (2, 5)
    html = response.content.decode()
    assert "Visible chat" in html and user.username in html


def test_changelist_searches_title_and_owner(superuser_client, user, other_user):
    ChatFactory(owner=user, title="About gardens")
    ChatFactory(owner=other_user, title="About boats")

    by_title = superuser_client.get(CHANGELIST, {"q": "gardens"}).context["cl"].result_list
    by_owner = superuser_client.get(CHANGELIST, {"q": other_user.username}).context["cl"].result_list

    assert [c.title for c in by_title] == ["About gardens"]
    assert [c.title for c in by_owner] == ["About boats"]


def test_changelist_filters_by_status(superuser_client, user):
    ChatFactory(owner=user, title="open")
    locked = ChatFactory(owner=user, title="locked")
    Chat.objects.filter(pk=locked.pk).update(status=ChatStatus.LOCKED)

    result = superuser_client.get(CHANGELIST, {"status__exact": "locked"}).context["cl"].result_list

    assert [c.title for c in result] == ["locked"]


def test_lock_makes_api_writes_409_and_unlock_lifts_it(staff_client, user):
    chat = ChatFactory(owner=user, pairs=1)
    api = client_for(user)
    body = {"chat_id": str(chat.id), "question": "q", "response": "r"}

    act(staff_client, "lock", chat)
    locked = api.post(ADD, body, format="json")
    readable = api.get(GET, {"chat_id": str(chat.id)})
    act(staff_client, "unlock", chat)
    unlocked = api.post(ADD, body, format="json")

    assert locked.status_code == HTTPStatus.CONFLICT
    assert locked.json()["errors"][0]["code"] == "chat_locked"
    assert readable.status_code == HTTPStatus.OK
    assert unlocked.status_code == HTTPStatus.CREATED


def test_hide_makes_the_chat_404_and_restore_brings_it_back_unchanged(staff_client, user):
    chat = ChatFactory(owner=user, pairs=3)
    api = client_for(user)
    before = api.get(GET, {"chat_id": str(chat.id)}).json()

    act(staff_client, "hide", chat)
    hidden = api.get(GET, {"chat_id": str(chat.id)})
    act(staff_client, "restore", chat)
    after = api.get(GET, {"chat_id": str(chat.id)})

    assert hidden.status_code == HTTPStatus.NOT_FOUND
    assert after.status_code == HTTPStatus.OK
    assert after.json() == before


def test_delete_action_removes_chat_and_content(staff_client, user):
    chat = ChatFactory(owner=user, pairs=2)

    act(staff_client, "delete_with_content", chat)

    assert not Chat.objects.filter(pk=chat.pk).exists()
    assert content_repository.branch_length(chat_id=chat.id, branch_id=chat.active_branch_id) == 0
    assert client_for(user).get(GET, {"chat_id": str(chat.id)}).status_code == HTTPStatus.NOT_FOUND
    entry = LogEntry.objects.get(object_id=str(chat.pk))
    assert entry.action_flag == DELETION


def test_the_stock_bulk_delete_is_not_offered(superuser_client, user):
    ChatFactory(owner=user)

    actions = superuser_client.get(CHANGELIST).context["action_form"].fields["action"].choices

    assert "delete_selected" not in [name for name, _ in actions]


def test_delete_button_on_the_change_page_removes_content_too(superuser_client, user):
    chat = ChatFactory(owner=user, pairs=2)

    response = superuser_client.post(reverse("admin:chats_chat_delete", args=[chat.pk]), {"post": "yes"})

    assert response.status_code == HTTPStatus.FOUND
    assert not Chat.objects.filter(pk=chat.pk).exists()
    assert content_repository.branch_length(chat_id=chat.id, branch_id=chat.active_branch_id) == 0


def test_actions_are_recorded_in_the_admin_history(superuser_client, user):
    chat = ChatFactory(owner=user)

    act(superuser_client, "lock", chat)
    act(superuser_client, "lock", chat)  # already locked: nothing to record
    act(superuser_client, "unlock", chat)
    act(superuser_client, "hide", chat)
    act(superuser_client, "restore", chat)

    messages = list(
        LogEntry.objects.filter(object_id=str(chat.pk), action_flag=CHANGE).order_by("id").values_list("change_message", flat=True)
    )
    assert messages == ["Locked the chat.", "Unlocked the chat.", "Hidden the chat.", "Restored the chat."]


def test_editing_status_and_title_goes_through_the_services_and_is_logged(superuser_client, user):
    chat = ChatFactory(owner=user, pairs=1)
    api = client_for(user)
    api.get(GET, {"chat_id": str(chat.id)})  # fills the cache

    response = superuser_client.post(change_url(chat), {"title": "Moderated title", "status": "locked"})

    assert response.status_code == HTTPStatus.FOUND
    chat.refresh_from_db()
    assert (chat.title, chat.status) == ("Moderated title", ChatStatus.LOCKED)
    assert api.get(GET, {"chat_id": str(chat.id)}).json()["title"] == "Moderated title"
    assert LogEntry.objects.filter(object_id=str(chat.pk), action_flag=CHANGE).exists()


def test_change_page_shows_the_branch_tree_and_pairs(staff_client, user):
    chat = ChatFactory(owner=user, title="Tree", pairs=3)
    second = content_repository.read_pairs_before(chat_id=chat.id, branch_id=chat.active_branch_id, limit=3)[1]
    branch, _ = branch_services.branch_create(
        user=user, chat_id=chat.id, response_id=second.response_id, name="alternative", question="alt q", response="alt r"
    )

    root_page = staff_client.get(change_url(chat))
    branch_page = staff_client.get(change_url(chat), {"branch": str(branch.id)})

    assert root_page.status_code == HTTPStatus.OK
    tree = [(n["branch"].name, n["depth"], n["active"]) for n in root_page.context["branch_tree"]]
    assert tree == [("main", 0, False), ("alternative", 1, True)]
    html = root_page.content.decode()
    assert "forks after pair 2" in html and "(active)" in html
    # Without ?branch= the active branch's own pairs are shown.
    assert [(i["position"], i["pair"].question) for i in root_page.context["pairs"]] == [(2, "alt q")]
    main = staff_client.get(change_url(chat), {"branch": str(chat.active_branch_id)})
    assert [(i["position"], i["pair"].question) for i in main.context["pairs"]] == [(0, "q0"), (1, "q1"), (2, "q2")]
    assert "alt r" in branch_page.content.decode()


def test_change_page_pages_long_branches(superuser_client, user):
    chat = ChatFactory(owner=user, pairs=120)

    second = superuser_client.get(change_url(chat), {"page": 2})
    last = superuser_client.get(change_url(chat), {"page": 3})

    assert [i["position"] for i in second.context["pairs"]] == list(range(50, 100))
    assert [i["position"] for i in last.context["pairs"]] == list(range(100, 120))
    assert second.context["pairs_total"] == 120


def test_non_staff_users_are_refused(client, user):
    client.force_login(user)

    response = client.get(CHANGELIST)

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("admin:login"))


def test_moderators_cannot_add_users_or_chats(moderator_client):
    assert moderator_client.get(reverse("admin:accounts_user_add")).status_code == HTTPStatus.FORBIDDEN
    assert moderator_client.get(reverse("admin:accounts_user_changelist")).status_code == HTTPStatus.OK
    assert moderator_client.get(reverse("admin:chats_chat_add")).status_code == HTTPStatus.FORBIDDEN


def test_locking_a_hidden_chat_keeps_it_hidden(superuser_client, user):
    chat = ChatFactory(owner=user)
    act(superuser_client, "hide", chat)

    act(superuser_client, "lock", chat)

    chat.refresh_from_db()
    assert chat.status == ChatStatus.HIDDEN
    assert client_for(user).get(GET, {"chat_id": str(chat.id)}).status_code == HTTPStatus.NOT_FOUND


def test_a_deeply_nested_tree_still_opens(superuser_client, user):
    # Deeper than Python's recursion limit; rows only, the page reads no content for them.
    chat = ChatFactory(owner=user)
    parent_id, chain = chat.active_branch_id, []
    for depth in range(1, 1101):
        branch = Branch(id=uuid.uuid4(), chat=chat, parent_id=parent_id, fork_response_id=uuid.uuid4(), fork_position=depth, name=f"b{depth}")
        chain.append(branch)
        parent_id = branch.id
    Branch.objects.bulk_create(chain)

    response = superuser_client.get(change_url(chat))

    assert response.status_code == HTTPStatus.OK
    assert [n["depth"] for n in response.context["branch_tree"]] == list(range(1101))


def test_the_chat_page_and_form_work_while_mongodb_is_down(superuser_client, user, mongo_down):
    with mongodb_up_for_a_moment():
        chat = ChatFactory(owner=user, pairs=1)

    page = superuser_client.get(change_url(chat))
    saved = superuser_client.post(change_url(chat), {"title": chat.title, "status": "locked"})

    assert page.status_code == HTTPStatus.OK
    assert "MongoDB is unavailable" in page.content.decode()
    assert saved.status_code == HTTPStatus.FOUND
    chat.refresh_from_db()
    assert chat.status == ChatStatus.LOCKED
