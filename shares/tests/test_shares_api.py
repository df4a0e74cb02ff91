"""Share links over the API and the page: what a share shows and never
shows, every way a link stops working, limits, throttling and forks."""

import datetime
import re
from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from chats import content_repository
from chats import services as chat_services
from chats.models import Chat
from chats.tests.routes import ADD, CREATE, DELETE, GET
from shares.models import Share

pytestmark = pytest.mark.django_db

CREATE_SHARE = reverse("shares-create-share")
LIST_SHARES = reverse("shares-list-shares")
DELETE_SHARE = reverse("shares-delete-share")
FORK = reverse("shares-fork-shared")
GET_SHARED = reverse("shared-get-shared")
BRANCH = reverse("branches-create-branch")
DELETE_BRANCH = reverse("branches-delete-branch")
GONE = {"type": "client_error", "errors": [{"code": "not_found", "detail": "This shared conversation does not exist, or no longer does.", "attr": None}]}


@pytest.fixture
def talk(auth_client):
    """A chat of three pairs on its root, and a branch after the first pair."""
    chat = auth_client.post(CREATE, {"title": "Trip to Lisbon", "question": "Train or plane?", "response": "Train."}, format="json").json()
    ids = [chat["messages"][0]["response_id"]]
    for q, r in (("How long?", "Ten hours."), ("Sleeper?", "Yes, <b>bunks</b>.")):
        ids.append(auth_client.post(ADD, {"chat_id": chat["chat_id"], "question": q, "response": r}, format="json").json()["response_id"])
    branch = auth_client.post(
        BRANCH, {"chat_id": chat["chat_id"], "response_id": ids[0], "question": "Bus?", "response": "Also fine.", "activate": False},
        format="json",
    ).json()
    return {"chat_id": chat["chat_id"], "root": chat["root_branch_id"], "pairs": ids, "branch": branch["branch_id"]}


def share(client, **body):
    answer = client.post(CREATE_SHARE, body, format="json")
    assert answer.status_code == HTTPStatus.CREATED, answer.content
    return answer.json()


def shared(client, token, **params):
    return client.get(GET_SHARED, {"token": token, **params})


def test_a_share_ends_at_the_last_finished_pair_of_the_active_branch(auth_client, talk):
    created = share(auth_client, chat_id=talk["chat_id"])

    assert created == {
        "share_id": created["share_id"],
        "token": created["token"],
        "url": f"http://testserver/s/{created['token']}",
        "chat_id": talk["chat_id"],
        "branch_id": talk["root"],
        "response_id": talk["pairs"][2],
        "pair_count": 3,
        "created_at": created["created_at"],
        "expires_at": None,
    }
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", created["token"])  # 256 bits, URL-safe


def test_get_shared_shows_the_path_and_nothing_else(api_client, auth_client, talk):
    token = share(auth_client, chat_id=talk["chat_id"], response_id=talk["pairs"][1])["token"]
    auth_client.post(ADD, {"chat_id": talk["chat_id"], "question": "Later?", "response": "Later."}, format="json")

    answer = shared(api_client, token)

    assert answer.status_code == HTTPStatus.OK
    body = answer.json()
    assert body == {
        "title": "Trip to Lisbon",
        "shared_at": body["shared_at"],
        "pair_count": 2,
        "offset": 0,
        "messages": [
            {"position": 0, "question": "Train or plane?", "response": "Train.", "timestamp": body["messages"][0]["timestamp"], "model": None},
            {"position": 1, "question": "How long?", "response": "Ten hours.", "timestamp": body["messages"][1]["timestamp"], "model": None},
        ],
        "has_more": False,
    }
    text = answer.content.decode()
    for secret in [talk["chat_id"], talk["root"], talk["branch"], *talk["pairs"], "Bus?", "Sleeper?", "Later?"]:
        assert secret not in text
    assert answer["X-Robots-Tag"] == "noindex, nofollow"
    assert answer["Referrer-Policy"] == "no-referrer"
    assert answer["Cache-Control"] == "private"


def test_a_branch_share_includes_the_inherited_pairs_and_pages(api_client, auth_client, talk):
    token = share(auth_client, chat_id=talk["chat_id"], branch_id=talk["branch"])["token"]

    first = shared(api_client, token, limit=1).json()
    second = shared(api_client, token, offset=1, limit=1).json()

    assert [(m["position"], m["question"]) for m in first["messages"]] == [(0, "Train or plane?")]
    assert first["has_more"] is True and first["pair_count"] == 2
    assert [(m["position"], m["question"]) for m in second["messages"]] == [(1, "Bus?")]
    assert second["has_more"] is False
    assert shared(api_client, token, offset=5).json()["messages"] == []


def test_a_pair_being_generated_cannot_end_a_share_and_an_empty_branch_has_nothing(auth_client, user, talk):
    generating, _ = chat_services.message_add(
        user=user, chat_id=talk["chat_id"], question="Still thinking?", response="",
        generation={"generation": {"status": "generating", "model": "m"}},
    )
    answer = auth_client.post(CREATE_SHARE, {"chat_id": talk["chat_id"], "response_id": generating.response_id}, format="json")
    assert answer.status_code == HTTPStatus.BAD_REQUEST
    assert answer.json()["errors"] == [{"code": "pair_not_finished", "detail": answer.json()["errors"][0]["detail"], "attr": "response_id"}]
    # By default, the last finished pair before it.
    assert share(auth_client, chat_id=talk["chat_id"])["response_id"] == talk["pairs"][2]

    empty = auth_client.post(CREATE, {"title": "Empty"}, format="json").json()
    answer = auth_client.post(CREATE_SHARE, {"chat_id": empty["chat_id"]}, format="json")
    assert (answer.status_code, answer.json()["errors"][0]["code"]) == (HTTPStatus.BAD_REQUEST, "nothing_to_share")


def test_a_pair_off_the_branchs_path_and_another_users_chat_are_404(auth_client, other_client, talk):
    answer = auth_client.post(CREATE_SHARE, {"chat_id": talk["chat_id"], "branch_id": talk["branch"], "response_id": talk["pairs"][2]}, format="json")
    assert answer.status_code == HTTPStatus.NOT_FOUND
    assert other_client.post(CREATE_SHARE, {"chat_id": talk["chat_id"]}, format="json").status_code == HTTPStatus.NOT_FOUND
    Chat.objects.filter(pk=talk["chat_id"]).update(hidden=True)
    assert auth_client.post(CREATE_SHARE, {"chat_id": talk["chat_id"]}, format="json").status_code == HTTPStatus.NOT_FOUND


@pytest.mark.parametrize("ending", ["deleted", "expired", "disabled", "hidden", "chat_deleted", "branch_deleted", "unknown"])
def test_every_link_that_stopped_working_is_the_same_404(api_client, auth_client, talk, ending):
    created = share(auth_client, chat_id=talk["chat_id"], branch_id=talk["branch"], expires_in_days=1)
    token = created["token"]
    assert shared(api_client, token).status_code == HTTPStatus.OK
    if ending == "deleted":
        assert auth_client.delete(DELETE_SHARE, {"share_id": created["share_id"]}, format="json").status_code == HTTPStatus.NO_CONTENT
    elif ending == "expired":
        Share.objects.filter(pk=created["share_id"]).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    elif ending == "disabled":
        Share.objects.filter(pk=created["share_id"]).update(disabled=True)
    elif ending == "hidden":
        chat_services.chat_moderate(chat_id=talk["chat_id"], action=chat_services.Moderation.HIDE)
    elif ending == "chat_deleted":
        auth_client.delete(DELETE, {"chat_id": talk["chat_id"]}, format="json")
    elif ending == "branch_deleted":
        auth_client.delete(DELETE_BRANCH, {"chat_id": talk["chat_id"], "branch_id": talk["branch"]}, format="json")
    else:
        token = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

    answer = shared(api_client, token)

    assert answer.status_code == HTTPStatus.NOT_FOUND
    assert answer.json() == GONE
    page = api_client.get(f"/s/{token}")
    assert page.status_code == HTTPStatus.NOT_FOUND
    assert "This link does not work" in page.content.decode()


def test_a_hidden_chats_shares_work_again_when_it_is_restored(api_client, auth_client, talk):
    token = share(auth_client, chat_id=talk["chat_id"])["token"]
    chat_services.chat_moderate(chat_id=talk["chat_id"], action=chat_services.Moderation.HIDE)
    assert shared(api_client, token).status_code == HTTPStatus.NOT_FOUND
    chat_services.chat_moderate(chat_id=talk["chat_id"], action=chat_services.Moderation.RESTORE)
    assert shared(api_client, token).status_code == HTTPStatus.OK


def test_tokens_differ_and_the_live_shares_are_limited(auth_client, talk, settings):
    settings.SHARES_PER_USER = 2
    tokens = {share(auth_client, chat_id=talk["chat_id"])["token"] for _ in range(2)}

    answer = auth_client.post(CREATE_SHARE, {"chat_id": talk["chat_id"]}, format="json")

    assert len(tokens) == 2
    assert (answer.status_code, answer.json()["errors"][0]["code"]) == (HTTPStatus.CONFLICT, "share_limit")
    Share.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))  # expired ones do not count
    assert share(auth_client, chat_id=talk["chat_id"])["pair_count"] == 3


def test_list_shares_newest_first_by_chat_and_only_ones_own(auth_client, other_client, talk):
    first = share(auth_client, chat_id=talk["chat_id"])
    other = auth_client.post(CREATE, {"title": "Porto", "question": "Q", "response": "R"}, format="json").json()
    second = share(auth_client, chat_id=other["chat_id"])

    listed = auth_client.get(LIST_SHARES).json()
    narrowed = auth_client.get(LIST_SHARES, {"chat_id": talk["chat_id"]}).json()

    assert [s["share_id"] for s in listed["results"]] == [second["share_id"], first["share_id"]]
    assert listed["results"][1] == first
    assert [s["share_id"] for s in narrowed["results"]] == [first["share_id"]]
    assert other_client.get(LIST_SHARES).json()["results"] == []
    assert other_client.get(LIST_SHARES, {"chat_id": talk["chat_id"]}).status_code == HTTPStatus.NOT_FOUND
    assert other_client.delete(DELETE_SHARE, {"share_id": first["share_id"]}, format="json").status_code == HTTPStatus.NOT_FOUND
    assert Share.objects.filter(pk=first["share_id"]).exists()


def test_fork_copies_the_shared_pairs_into_a_new_chat_of_the_callers(auth_client, other_client, talk):
    token = share(auth_client, chat_id=talk["chat_id"], branch_id=talk["branch"])["token"]
    calls = content_repository.calls()

    answer = other_client.post(FORK, {"token": token}, format="json")

    assert answer.status_code == HTTPStatus.CREATED, answer.content
    chat = answer.json()
    # One read per branch on the path (the root, the branch), one write.
    assert content_repository.calls() - calls == 3
    assert chat["title"] == "Trip to Lisbon" and chat["branch_count"] == 1
    page = other_client.get(GET, {"chat_id": chat["chat_id"]}).json()
    assert [(m["question"], m["response"]) for m in page["messages"]] == [("Train or plane?", "Train."), ("Bus?", "Also fine.")]
    assert not {m["response_id"] for m in page["messages"]} & set(talk["pairs"])
    again = other_client.post(FORK, {"token": token}, format="json").json()
    assert again["chat_id"] != chat["chat_id"]
    assert other_client.post(FORK, {"token": "nope"}, format="json").json() == GONE


def test_the_shared_routes_are_throttled_per_address(api_client, auth_client, talk, settings):
    settings.THROTTLE_SHARED_RATE = "3/minute"
    token = share(auth_client, chat_id=talk["chat_id"])["token"]

    statuses = [shared(api_client, token).status_code for _ in range(3)]
    statuses.append(api_client.get(f"/s/{token}").status_code)
    other_address = api_client.get(GET_SHARED, {"token": token}, REMOTE_ADDR="10.0.0.9").status_code

    assert statuses == [200, 200, 200, 429]
    assert other_address == 200


def test_the_page_reads_without_script_and_escapes_every_text(api_client, auth_client, talk):
    token = share(auth_client, chat_id=talk["chat_id"])["token"]

    page = api_client.get(f"/s/{token}")

    html = page.content.decode()
    assert page.status_code == HTTPStatus.OK
    assert "<h1>Trip to Lisbon</h1>" in html
    assert "Yes, &lt;b&gt;bunks&lt;/b&gt;." in html and "<b>bunks</b>" not in html
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert "<script" not in html
    assert f'href="/app/#fork={token}"' in html
    assert page["X-Robots-Tag"] == "noindex, nofollow" and page["Referrer-Policy"] == "no-referrer"


def test_a_moderator_sees_a_chats_shares_and_disables_one(admin_client, api_client, auth_client, talk):
    created = share(auth_client, chat_id=talk["chat_id"])
    chat_page = admin_client.get(reverse("admin:chats_chat_change", args=[talk["chat_id"]])).content.decode()
    listed = admin_client.get(reverse("admin:shares_share_changelist"), {"chat__id__exact": talk["chat_id"]})
    assert "1 share link" in chat_page
    assert listed.status_code == HTTPStatus.OK and "Trip to Lisbon" in listed.content.decode()

    answer = admin_client.post(
        reverse("admin:shares_share_changelist"), {"action": "disable", "_selected_action": [created["share_id"]]}
    )

    assert answer.status_code == HTTPStatus.FOUND
    assert Share.objects.get(pk=created["share_id"]).disabled is True
    assert shared(api_client, created["token"]).status_code == HTTPStatus.NOT_FOUND
    admin_client.post(reverse("admin:shares_share_changelist"), {"action": "enable", "_selected_action": [created["share_id"]]})
    assert shared(api_client, created["token"]).status_code == HTTPStatus.OK


def test_a_page_read_before_comes_from_the_cache_and_the_share_is_checked_each_time(api_client, auth_client, talk):
    created = share(auth_client, chat_id=talk["chat_id"])
    first = shared(api_client, created["token"]).json()
    calls = content_repository.calls()

    again = shared(api_client, created["token"]).json()

    assert again == first
    assert content_repository.calls() == calls
    Share.objects.filter(pk=created["share_id"]).update(disabled=True)
    assert shared(api_client, created["token"]).status_code == HTTPStatus.NOT_FOUND


def test_an_offset_past_any_chat_is_a_400(api_client, auth_client, talk):
    token = share(auth_client, chat_id=talk["chat_id"])["token"]

    answer = shared(api_client, token, offset=2**64)

    assert answer.status_code == HTTPStatus.BAD_REQUEST
    assert answer.json()["errors"][0]["attr"] == "offset"


def test_a_pair_still_generating_inside_a_share_is_not_kept_and_forks_ended(api_client, auth_client, other_client, user, talk):
    generating, _ = chat_services.message_add(
        user=user, chat_id=talk["chat_id"], question="Thinking?", response="so far",
        generation={"generation": {"status": "generating", "model": "m"}},
    )
    chat_services.message_add(user=user, chat_id=talk["chat_id"], question="Meanwhile", response="sent")
    token = share(auth_client, chat_id=talk["chat_id"])["token"]
    shared(api_client, token)
    content_repository.save_generation(
        chat_id=talk["chat_id"], branch_id=generating.branch_id, response_id=generating.response_id, response="so far, and more"
    )

    assert shared(api_client, token).json()["messages"][3]["response"] == "so far, and more"
    forked = other_client.post(FORK, {"token": token}, format="json").json()
    page = other_client.get(GET, {"chat_id": forked["chat_id"]}).json()
    assert [(m["question"], m["status"]) for m in page["messages"]][3:] == [("Thinking?", "interrupted"), ("Meanwhile", "complete")]
