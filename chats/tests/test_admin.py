"""Moderation through the Django admin, as a superuser and as a moderator."""

import contextlib
import datetime
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
from chats import services as chat_services
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


def act(client, action, *chats, confirm=True):
    data = {"action": action, "_selected_action": [str(c.pk) for c in chats]}
    if confirm and action == "delete_with_content":
        data["post"] = "yes"  # the confirmation page's answer
    return client.post(CHANGELIST, data, follow=True)


def shown_messages(response):
    return [str(m) for m in response.context["messages"]]


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
    Chat.objects.filter(pk=locked.pk).update(locked=True)

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
    assert messages == [
        "Locked the chat: locked False → True; status “active” → “locked”.",
        "Unlocked the chat: locked True → False; status “locked” → “active”.",
        "Hidden the chat: hidden False → True; status “active” → “hidden”.",
        "Restored the chat: hidden True → False; status “hidden” → “active”.",
    ]


def test_editing_status_and_title_goes_through_the_services_and_is_logged(superuser_client, user):
    chat = ChatFactory(owner=user, pairs=1)
    api = client_for(user)
    api.get(GET, {"chat_id": str(chat.id)})  # fills the cache

    response = superuser_client.post(change_url(chat), {"title": "Moderated title", "locked": "on"})

    assert response.status_code == HTTPStatus.FOUND
    chat.refresh_from_db()
    assert (chat.title, chat.status) == ("Moderated title", ChatStatus.LOCKED)
    assert api.get(GET, {"chat_id": str(chat.id)}).json()["title"] == "Moderated title"
    entry = LogEntry.objects.get(object_id=str(chat.pk), action_flag=CHANGE)
    assert entry.change_message == (
        "Locked the chat: locked False → True; status “active” → “locked”. "
        "Renamed the chat: title “A chat” → “Moderated title”."
    )


def test_change_page_shows_the_tree_and_the_whole_path_of_the_chosen_branch(staff_client, user):
    chat = ChatFactory(owner=user, title="Tree", pairs=3)
    second = content_repository.read_pairs_before(chat_id=chat.id, branch_id=chat.active_branch_id, limit=3)[1]
    assert second.question == "q1"
    branch, _ = branch_services.branch_create(
        user=user, chat_id=chat.id, response_id=second.response_id, name="alternative", question="alt q", response="alt r"
    )

    active_page = staff_client.get(change_url(chat))
    main_page = staff_client.get(change_url(chat), {"branch": str(chat.active_branch_id)})

    assert active_page.status_code == HTTPStatus.OK
    tree = [(n["branch"].name, n["depth"], n["active"], n["fork_question"]) for n in active_page.context["branch_tree"]]
    assert tree == [("main", 0, False, None), ("alternative", 1, True, "q1")]
    html = active_page.content.decode()
    assert "forks after pair 2: “q1”" in html and "(active)" in html
    # Without ?branch= the active branch's whole path, as its owner reads it:
    # two pairs inherited from main, then its own.
    path = [(i["position"], i["pair"].question, i["inherited"]) for i in active_page.context["pairs"]]
    assert path == [(0, "q0", True), (1, "q1", True), (2, "alt q", False)]
    assert html.count("<em>inherited</em> from") == 2
    owner_view = client_for(user).get(GET, {"chat_id": str(chat.id)}).json()["messages"]
    assert [m["question"] for m in owner_view] == [i["pair"].question for i in active_page.context["pairs"]]
    main = [(i["position"], i["pair"].question, i["inherited"]) for i in main_page.context["pairs"]]
    assert main == [(0, "q0", False), (1, "q1", False), (2, "q2", False)]


def test_change_page_pages_long_paths_newest_page_first(superuser_client, user):
    chat = ChatFactory(owner=user, pairs=100)
    middle = content_repository.read_pairs_before(chat_id=chat.id, branch_id=chat.active_branch_id, end=60, limit=1)[0]
    branch, _ = branch_services.branch_create(user=user, chat_id=chat.id, response_id=middle.response_id, name="late")
    for i in range(60):
        chat_services.message_add(user=user, chat_id=chat.id, question=f"late {i}", response="r")

    newest = superuser_client.get(change_url(chat))
    first = superuser_client.get(change_url(chat), {"branch": str(branch.id), "page": 1})
    second = superuser_client.get(change_url(chat), {"branch": str(branch.id), "page": 2})

    # 60 inherited + 60 own = 120 pairs, in pages of 50 counted back from the
    # newest, as its owner reads them: [0, 20), [20, 70), [70, 120), the newest by default.
    assert newest.context["pairs_page"].number == 3
    assert [i["position"] for i in newest.context["pairs"]] == list(range(70, 120))
    assert newest.context["pairs_total"] == 120
    assert [i["position"] for i in first.context["pairs"]] == list(range(20))
    assert [i["inherited"] for i in second.context["pairs"]] == [True] * 40 + [False] * 10
    assert [i["pair"].question for i in second.context["pairs"]][39:41] == ["q59", "late 0"]
    links = first.context["page_links"]
    assert links["newest"].endswith(f"?branch={branch.id}&page=3")
    assert links["oldest"] is None and links["earlier"] is None
    assert f'href="{change_url(chat)}?branch={branch.id}&amp;page=3">newest »' in first.content.decode()
    for odd in ("99", "abc", "-1"):
        shown = superuser_client.get(change_url(chat), {"branch": str(branch.id), "page": odd}).context["pairs_page"]
        assert shown.number == (1 if odd == "-1" else 3), odd


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
    saved = superuser_client.post(change_url(chat), {"title": chat.title, "locked": "on"})

    assert page.status_code == HTTPStatus.OK
    assert "MongoDB is unavailable" in page.content.decode()
    assert saved.status_code == HTTPStatus.FOUND
    chat.refresh_from_db()
    assert chat.status == ChatStatus.LOCKED


def test_an_action_that_applies_to_none_says_why(superuser_client, user):
    chats = [ChatFactory(owner=user), ChatFactory(owner=user)]
    act(superuser_client, "lock", *chats)

    again = act(superuser_client, "lock", *chats)
    restore = act(superuser_client, "restore", chats[0])

    assert shown_messages(again) == ["No chat was locked: the 2 selected are already locked."]
    assert shown_messages(restore) == ["No chat was restored: the 1 selected is not hidden."]


def test_an_action_that_applies_to_some_says_which_were_skipped(superuser_client, user):
    hidden, visible = ChatFactory(owner=user), ChatFactory(owner=user)
    act(superuser_client, "hide", hidden)

    response = act(superuser_client, "hide", hidden, visible)

    assert shown_messages(response) == ["1 chat hidden. 1 was skipped: already hidden."]


def test_the_form_follows_the_same_rules_as_the_actions(superuser_client, user):
    chat = ChatFactory(owner=user, pairs=1)
    act(superuser_client, "hide", chat)

    # Ticking "locked" on a hidden chat locks it and leaves it hidden.
    locked = superuser_client.post(change_url(chat), {"title": chat.title, "locked": "on", "hidden": "on"})
    assert locked.status_code == HTTPStatus.FOUND
    assert client_for(user).get(GET, {"chat_id": str(chat.id)}).status_code == HTTPStatus.NOT_FOUND
    # Unticking "hidden" restores it, still locked.
    superuser_client.post(change_url(chat), {"title": chat.title, "locked": "on"})

    chat.refresh_from_db()
    assert (chat.locked, chat.hidden, chat.status) == (True, False, ChatStatus.LOCKED)
    api = client_for(user)
    assert api.get(GET, {"chat_id": str(chat.id)}).json()["status"] == "locked"
    write = api.post(ADD, {"chat_id": str(chat.id), "question": "q", "response": "r"}, format="json")
    assert write.status_code == HTTPStatus.CONFLICT
    history = LogEntry.objects.filter(object_id=str(chat.pk), action_flag=CHANGE).order_by("id")
    assert [e.change_message for e in history] == [
        "Hidden the chat: hidden False → True; status “active” → “hidden”.",
        "Locked the chat: locked False → True; status “hidden” → “hidden”.",
        "Restored the chat: hidden True → False; status “hidden” → “locked”.",
    ]


def test_the_status_cannot_be_set_directly_on_the_form(superuser_client, user):
    chat = ChatFactory(owner=user)

    superuser_client.post(change_url(chat), {"title": chat.title, "status": "locked"})

    chat.refresh_from_db()
    assert (chat.locked, chat.hidden, chat.status) == (False, False, ChatStatus.ACTIVE)


def test_delete_action_asks_first_listing_what_goes(staff_client, user):
    chat = ChatFactory(owner=user, title="Doomed", pairs=3)
    first = content_repository.read_pairs_before(chat_id=chat.id, branch_id=chat.active_branch_id, limit=1)[0]
    branch_services.branch_create(user=user, chat_id=chat.id, response_id=first.response_id, question="q", response="r")

    page = act(staff_client, "delete_with_content", chat, confirm=False)

    assert page.status_code == HTTPStatus.OK
    assert Chat.objects.filter(pk=chat.pk).exists()
    html = page.content.decode()
    assert "Are you sure you want to delete the selected chats?" in html
    assert f"Doomed</a>\n      of {user.username} (active): 2 branches,\n      4 pairs" in html
    assert "<li>Chats: 1</li>" in html and "<li>Branches: 2</li>" in html and "<li>Pairs: 4</li>" in html
    assert f'name="_selected_action" value="{chat.pk}"' in html
    assert 'name="action" value="delete_with_content"' in html

    done = act(staff_client, "delete_with_content", chat)

    assert shown_messages(done) == ["1 chat deleted."]
    assert not Chat.objects.filter(pk=chat.pk).exists()


def test_owner_is_a_link_and_a_filter_and_the_search_says_what_it_searches(superuser_client, user, other_user):
    ChatFactory(owner=user, title="mine")
    ChatFactory(owner=other_user, title="theirs")

    everything = superuser_client.get(CHANGELIST)
    filtered = superuser_client.get(CHANGELIST, {"owner__id__exact": other_user.pk})

    html = everything.content.decode()
    user_url = reverse("admin:accounts_user_change", args=[user.pk])
    assert f'<a href="{user_url}">{user.username}</a>' in html
    assert "Searches chat titles and owners’ usernames." in html
    assert [c.title for c in filtered.context["cl"].result_list] == ["theirs"]


def test_times_carry_their_time_zone(superuser_client, user):
    chat = ChatFactory(owner=user, pairs=1)
    chat.refresh_from_db()

    html = superuser_client.get(change_url(chat)).content.decode()
    listing = superuser_client.get(CHANGELIST).content.decode()

    created = chat.created_at.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert created in html and created in listing
    pair = content_repository.read_pairs_before(chat_id=chat.id, branch_id=chat.active_branch_id, limit=1)[0]
    assert pair.timestamp.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") in html


def test_users_list_their_number_of_chats_with_a_link(superuser_client, user):
    ChatFactory(owner=user)
    ChatFactory(owner=user)

    html = superuser_client.get(reverse("admin:accounts_user_changelist")).content.decode()

    link = reverse("admin:chats_chat_changelist") + f"?owner__id__exact={user.pk}"
    assert f'<a href="{link}">2 chats</a>' in html


def test_branch_list_is_named_ordered_and_filtered_by_chat_and_links_to_its_chat(superuser_client, user):
    second = ChatFactory(owner=user, title="B chat", pairs=1)
    first = ChatFactory(owner=user, title="A chat", pairs=1)
    pair = content_repository.read_pairs_before(chat_id=second.id, branch_id=second.active_branch_id, limit=1)[0]
    fork, _ = branch_services.branch_create(user=user, chat_id=second.id, response_id=pair.response_id, name="fork")
    branches = reverse("admin:chats_branch_changelist")

    listing = superuser_client.get(branches)
    filtered = superuser_client.get(branches, {"chat__id__exact": str(second.pk)})
    page = superuser_client.get(reverse("admin:chats_branch_change", args=[fork.pk]))

    assert Branch._meta.verbose_name_plural == "branches"
    assert "<h1>Select branch to view</h1>" in listing.content.decode()
    rows = [(b.chat.title, b.name) for b in listing.context["cl"].result_list]
    assert rows == [("A chat", "main"), ("B chat", "main"), ("B chat", "fork")]
    assert [b.name for b in filtered.context["cl"].result_list] == ["main", "fork"]
    assert f'<a href="{change_url(second)}?branch={fork.pk}">B chat</a>' in page.content.decode()
    assert first.pk  # listed first by title


def test_site_root_is_a_page_linking_docs_admin_and_health(client):
    response = client.get("/")

    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    for link in ('href="/docs"', 'href="/redoc"', 'href="/admin/"', 'href="/health"'):
        assert link in html
    assert client.get("/api/v1/nothing-here").json()["errors"][0]["code"] == "not_found"
