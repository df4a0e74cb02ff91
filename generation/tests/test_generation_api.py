"""Generated answers through the API, against real models: SmolLM2 in this
process (`local_provider`) and llama.cpp's OpenAI-compatible server, behind a
proxy of ours where it must misbehave (`model_proxy`).

Tiny models are not deterministic even at temperature 0: these tests assert
structure, and equality between what was streamed and what was stored, never
wording.
"""

import datetime
import json
import threading
import time
import uuid
from http import HTTPStatus
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from branches.tests.routes import CREATE_BRANCH, GET_BRANCHES
from chatproject.errors import GenerationInProgress
from chatproject.testing import client_for, error
from chats import content_repository
from chats.models import Branch, Chat
from chats.tests.factories import ChatFactory
from chats.tests.routes import ADD, CREATE, GET
from chats.tests.stores import lose_chat_after_append, raw_buckets
from generation import claims, providers, readers, worker
from generation.models import Run

from .streams import joined, parse, sse

REGENERATE = reverse("messages-regenerate")
STOP = reverse("messages-stop-generation")
STREAM = reverse("messages-stream-message")

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def auth_client(user):
    """Model failures answer 5xx, which the error handler also reports (logs)
    as a server would: answer them, do not raise them in the test."""
    return client_for(user, raise_request_exception=False)


@pytest.fixture(autouse=True)
def _generations_end():
    """No generation outlives its test (they write to the stores)."""
    yield
    for _ in range(600):
        left = worker.running_here()
        if not left:
            return
        for running in left:
            running.stop()
        time.sleep(0.05)
    raise AssertionError("generations still running after the test")


def without_alternatives(page_pair):
    """A pair read in a page, as the other routes render it (only pages carry `alternatives`)."""
    return {key: value for key, value in page_pair.items() if key != "alternatives"}


def stored(chat_id, response_id):
    return content_repository.read_pair(chat_id=chat_id, response_id=response_id)


def assert_generated(pair, *, model):
    assert pair["status"] == "complete"
    assert pair["model"] == model
    assert pair["finish_reason"] in {"stop", "length"}
    assert isinstance(pair["response"], str) and pair["response"]
    usage = pair["usage"]
    assert usage is None or (usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0)


# The local model, in process.


def test_add_message_without_response_is_answered_and_stored_with_every_field(auth_client, chat, local_provider):
    response = auth_client.post(ADD, {"chat_id": str(chat.id), "question": "Say hello."}, format="json")

    assert response.status_code == HTTPStatus.CREATED, response.content
    pair = response.json()
    assert_generated(pair, model=providers.model_name())
    assert (pair["question"], pair["position"], pair["branch_id"]) == ("Say hello.", 3, str(chat.active_branch_id))
    page = auth_client.get(GET, {"chat_id": str(chat.id)}).json()
    assert without_alternatives(page["messages"][-1]) == pair
    assert Branch.objects.get(pk=chat.active_branch_id).message_count == 4
    assert not Run.objects.exists()


def test_streamed_deltas_joined_are_the_stored_response(auth_client, chat, local_provider):
    response = auth_client.post(ADD, {"chat_id": str(chat.id), "question": "Count to five.", "stream": True}, format="json")

    events = sse(response)

    names = [name for name, _ in events]
    assert names[0] == "pair" and names[-1] == "done" and set(names[1:-1]) == {"delta"}
    start, done = events[0][1], events[-1][1]
    assert (start["status"], start["response"], start["position"]) == ("generating", "", 3)
    assert done["response_id"] == start["response_id"]
    assert joined(events) == done["response"] == stored(chat.id, done["response_id"]).response
    assert_generated(done, model=providers.model_name())
    assert response["Cache-Control"] == "no-cache" and response["X-Accel-Buffering"] == "no"


def test_create_chat_with_a_question_alone_answers_it(auth_client, local_provider):
    response = auth_client.post(CREATE, {"question": "What is a branch?"}, format="json")

    assert response.status_code == HTTPStatus.CREATED, response.content
    body = response.json()
    assert body["title"] == "What is a branch?"
    assert_generated(body["messages"][0], model=providers.model_name())


def test_streamed_create_chat_sends_the_chat_first(auth_client, local_provider):
    events = sse(auth_client.post(CREATE, {"question": "Hi", "stream": True}, format="json", HTTP_ACCEPT="text/event-stream"))

    assert [name for name, _ in events[:2]] == ["chat", "pair"]
    chat = Chat.objects.get()
    assert events[0][1]["chat_id"] == str(chat.id)
    assert joined(events) == events[-1][1]["response"]


def test_regenerate_forks_right_before_the_pair_and_keeps_the_old_answer(auth_client, chat, local_provider):
    pairs = auth_client.get(GET, {"chat_id": str(chat.id)}).json()["messages"]

    response = auth_client.post(REGENERATE, {"chat_id": str(chat.id), "response_id": pairs[2]["response_id"]}, format="json")

    assert response.status_code == HTTPStatus.CREATED, response.content
    body = response.json()
    assert (body["fork_response_id"], body["fork_position"], body["is_active"]) == (pairs[1]["response_id"], 2, True)
    new = body["messages"][0]
    assert (new["question"], new["position"], new["branch_id"]) == ("q2", 2, body["branch_id"])
    assert_generated(new, model=providers.model_name())
    root = auth_client.get(GET, {"chat_id": str(chat.id), "branch_id": str(chat.active_branch_id)}).json()["messages"]
    assert root[2]["response"] == "r2"  # the old answer is where it was
    assert root[1]["branches"] == [body["branch_id"]]


def test_regenerate_a_branchs_first_pair_forks_at_that_branchs_fork_point(auth_client, chat, local_provider):
    pairs = auth_client.get(GET, {"chat_id": str(chat.id)}).json()["messages"]
    edit = auth_client.post(
        CREATE_BRANCH,
        {"chat_id": str(chat.id), "response_id": pairs[0]["response_id"], "question": "edited", "response": "x"},
        format="json",
    ).json()

    again = auth_client.post(
        REGENERATE, {"chat_id": str(chat.id), "response_id": edit["messages"][0]["response_id"]}, format="json"
    ).json()

    assert (again["parent_branch_id"], again["fork_response_id"]) == (str(chat.active_branch_id), pairs[0]["response_id"])
    assert again["messages"][0]["question"] == "edited"
    fork = auth_client.get(GET, {"chat_id": str(chat.id), "branch_id": str(chat.active_branch_id)}).json()["messages"][0]
    assert fork["branches"] == [edit["branch_id"], again["branch_id"]]


def test_edit_is_create_branch_with_a_question_alone(auth_client, chat, local_provider):
    pairs = auth_client.get(GET, {"chat_id": str(chat.id)}).json()["messages"]
    body = {"chat_id": str(chat.id), "response_id": pairs[1]["response_id"], "question": "q2, edited", "stream": True}

    events = sse(auth_client.post(CREATE_BRANCH, body, format="json"))

    assert [name for name, _ in events[:2]] == ["branch", "pair"]
    branch, done = events[0][1], events[-1][1]
    assert (branch["fork_position"], done["position"], done["question"]) == (2, 2, "q2, edited")
    assert joined(events) == done["response"]
    path = auth_client.get(GET, {"chat_id": str(chat.id)}).json()["messages"]
    assert [p["question"] for p in path] == ["q0", "q1", "q2, edited"]


def test_generation_off_wants_the_response(auth_client, chat, settings):
    settings.LLM_PROVIDER = "off"

    response = auth_client.post(ADD, {"chat_id": str(chat.id), "question": "q"}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == error(
        "response_required", "Generation is off: send the response with the question.", "response", "validation_error"
    )
    assert Branch.objects.get(pk=chat.active_branch_id).message_count == 3


def test_a_response_alone_is_refused(auth_client):
    response = auth_client.post(CREATE, {"response": "r"}, format="json")

    assert response.json() == error("required", "A response needs its question.", "question", "validation_error")


def test_a_branch_generates_one_answer_at_a_time_and_branches_side_by_side(auth_client, chat, local_provider, settings):
    settings.LLM_MAX_TOKENS = 200
    pairs = auth_client.get(GET, {"chat_id": str(chat.id)}).json()["messages"]
    other = auth_client.post(
        CREATE_BRANCH, {"chat_id": str(chat.id), "response_id": pairs[0]["response_id"], "activate": False}, format="json"
    ).json()
    first = auth_client.post(ADD, {"chat_id": str(chat.id), "question": "Tell a long story.", "stream": True}, format="json")
    events = parse(first.streaming_content)
    assert next(events)[0] == "pair"

    second = auth_client.post(ADD, {"chat_id": str(chat.id), "question": "again"}, format="json")
    own = auth_client.post(ADD, {"chat_id": str(chat.id), "question": "mine", "response": "answered myself"}, format="json")
    beside = auth_client.post(
        ADD, {"chat_id": str(chat.id), "branch_id": other["branch_id"], "question": "Hi"}, format="json"
    )

    assert second.status_code == HTTPStatus.CONFLICT
    assert second.json()["errors"][0]["code"] == "generation_in_progress"
    assert own.status_code == HTTPStatus.CREATED
    assert beside.status_code == HTTPStatus.CREATED
    assert_generated(beside.json(), model=providers.model_name())
    rest = list(events)
    assert rest[-1][0] == "done"


def test_stop_keeps_the_partial_text_as_interrupted(auth_client, chat, local_provider, settings):
    settings.LLM_MAX_TOKENS = 400
    response = auth_client.post(ADD, {"chat_id": str(chat.id), "question": "Write a long essay.", "stream": True}, format="json")
    events = parse(response.streaming_content)
    start = next(events)[1]
    first_delta = next(events)
    assert first_delta[0] == "delta"

    stopped = auth_client.post(STOP, {"chat_id": str(chat.id), "response_id": start["response_id"]}, format="json")

    assert stopped.status_code == HTTPStatus.OK, stopped.content
    pair = stopped.json()
    assert (pair["status"], pair["finish_reason"]) == ("interrupted", "interrupted")
    rest = [first_delta, *events]
    assert rest[-1] == ("done", pair)
    assert joined(rest) == pair["response"] == stored(chat.id, pair["response_id"]).response
    assert pair["response"]
    again = auth_client.post(STOP, {"chat_id": str(chat.id), "response_id": start["response_id"]}, format="json")
    assert again.json() == pair  # already finished: unchanged


def test_a_client_that_goes_away_loses_nothing_and_a_reader_reattaches(auth_client, chat, local_provider, settings):
    settings.LLM_MAX_TOKENS = 120
    response = auth_client.post(ADD, {"chat_id": str(chat.id), "question": "Describe the sea.", "stream": True}, format="json")
    events = parse(response.streaming_content)
    start = next(events)[1]
    next(events)
    response.close()  # the tab is closed

    reattached = sse(auth_client.get(STREAM, {"chat_id": str(chat.id), "response_id": start["response_id"]}))

    first = reattached[0]
    assert first[0] == "pair" and first[1]["response_id"] == start["response_id"]
    done = reattached[-1]
    assert done[0] == "done"
    assert first[1]["response"] + joined_from(reattached[1:], offset=len(first[1]["response"])) == done[1]["response"]
    assert done[1] == without_alternatives(auth_client.get(GET, {"chat_id": str(chat.id)}).json()["messages"][-1])
    assert done[1]["response"] == stored(chat.id, start["response_id"]).response


def joined_from(events, *, offset):
    text = ""
    for name, data in events:
        if name == "delta":
            assert data["offset"] == offset + len(text)
            text += data["text"]
    return text


def test_stream_message_of_a_finished_pair_is_pair_then_done(auth_client, chat):
    pair = without_alternatives(auth_client.get(GET, {"chat_id": str(chat.id)}).json()["messages"][0])

    events = sse(auth_client.get(STREAM, {"chat_id": str(chat.id), "response_id": pair["response_id"]}))

    assert events == [("pair", pair), ("done", pair)]


def follow_elsewhere(source_class, chat, start):
    """What a process that does not run the generation sends its reader:
    the stream read from `source_class` (the event log, or the store)."""
    as_stored = stored(chat.id, start["response_id"])
    source = source_class(chat.id, as_stored, start["position"])
    snapshot = source.snapshot()
    followed = list(readers._deltas(start["response_id"], source.pieces(), sent=len(snapshot.response)))
    return snapshot.response, [(event.name, event.data) for event in followed if event is not None]


@pytest.mark.parametrize(
    "source_class",
    [pytest.param(readers._Log, marks=pytest.mark.requires_redis), readers._Store],
    ids=["event log", "store"],
)
def test_a_reader_of_another_process_follows_the_generation(auth_client, chat, local_provider, settings, source_class):
    settings.LLM_MAX_TOKENS = 120
    response = auth_client.post(ADD, {"chat_id": str(chat.id), "question": "Describe a forest.", "stream": True}, format="json")
    events = parse(response.streaming_content)
    start = next(events)[1]

    text, followed = follow_elsewhere(source_class, chat, start)

    final = stored(chat.id, start["response_id"])
    assert followed[-1][0] == "done"
    assert followed[-1][1] == without_alternatives(auth_client.get(GET, {"chat_id": str(chat.id)}).json()["messages"][-1])
    for name, data in followed[:-1]:
        assert name == "delta" and data["offset"] == len(text)
        text += data["text"]
    assert text == final.response
    list(events)


def run_of(pair_id, chat, user, *, uncounted=True, heartbeat_at=None, runner="elsewhere:1"):
    """The run of a generation, as the process running it left it."""
    heartbeat_at = heartbeat_at or timezone.now()
    return Run.objects.create(
        response_id=pair_id, chat_id=chat.id, branch_id=chat.active_branch_id, user=user,
        uncounted=uncounted, runner=runner, started_at=heartbeat_at, heartbeat_at=heartbeat_at,
    )


def died_generating(chat, *, response, uncounted=False):
    """A pair left `generating` on the chat's active branch, its run left
    behind, by a process that died long ago (a crash, not a fake of ours:
    the stores as such a process leaves them)."""
    dead = content_repository.append_pair(
        chat_id=chat.id, branch_id=chat.active_branch_id, question="q", response=response,
        generation={"status": "generating", "model": "m"},
    )
    Branch.objects.filter(pk=chat.active_branch_id).update(message_count=3 if uncounted else 4)
    long_ago = timezone.now() - datetime.timedelta(minutes=5)
    run_of(dead.response_id, chat, chat.owner, uncounted=uncounted, heartbeat_at=long_ago, runner="gone:1")
    raw_buckets().update_one(
        {"chat_id": str(chat.id), "qa_pairs": {"$elemMatch": {"response_id": dead.response_id}}},
        {"$set": {"qa_pairs.$.saved_at": long_ago, "qa_pairs.$.timestamp": long_ago}},
    )
    return dead


def test_a_generation_whose_process_died_is_recovered(auth_client, chat, settings):
    settings.LLM_PROVIDER = "local"
    dead = died_generating(chat, response="half an ans")

    stopped = auth_client.post(STOP, {"chat_id": str(chat.id), "response_id": dead.response_id}, format="json")

    assert stopped.status_code == HTTPStatus.OK
    assert (stopped.json()["status"], stopped.json()["response"]) == ("interrupted", "half an ans")
    assert not Run.objects.exists()


def test_reconcile_ends_generations_whose_process_died(user, chat, settings):
    dead = died_generating(chat, response="")

    out = StringIO()
    call_command("reconcile_content", "--grace", "0", "--fix", stdout=out, stderr=StringIO())

    assert out.getvalue().splitlines()[-2:] == ["problems found: 1", "repaired: 1"]
    pair = stored(chat.id, dead.response_id)
    assert (pair.status, pair.finish_reason, pair.response) == ("interrupted", "interrupted", "")
    assert not Run.objects.exists()


def test_reconcile_leaves_the_count_of_a_live_generation_to_it(user, chat, settings):
    """Stored, claimed, marked uncounted: a generation waiting for its first
    text (up to LLM_TIMEOUT, maybe longer than --grace) counts it itself."""
    live = content_repository.append_pair(
        chat_id=chat.id, branch_id=chat.active_branch_id, question="q", response="",
        generation={"status": "generating", "model": "m"},
    )
    run_of(live.response_id, chat, user)

    out = StringIO()
    call_command("reconcile_content", "--grace", "0", "--fix", stdout=out, stderr=StringIO())

    assert out.getvalue().splitlines()[-2:] == ["problems found: 0", "repaired: 0"]
    assert Branch.objects.get(pk=chat.active_branch_id).message_count == 3


def test_reconcile_counts_the_pair_of_a_generation_that_died_uncounted(user, chat, settings):
    dead = died_generating(chat, response="", uncounted=True)

    out = StringIO()
    call_command("reconcile_content", "--grace", "0", "--fix", stdout=out, stderr=StringIO())

    assert out.getvalue().splitlines()[-2:] == ["problems found: 1", "repaired: 1"]  # the dead generation
    assert stored(chat.id, dead.response_id).status == "interrupted"
    assert Branch.objects.get(pk=chat.active_branch_id).message_count == 4
    assert not Run.objects.exists()


def test_the_repair_of_a_stale_claim_is_read_at_once(auth_client, user, chat):
    """A generation that ended but whose process died before releasing its
    run: reconcile frees the branch and counts the pair, and the cached
    branch list says so at once."""
    ended = content_repository.append_pair(
        chat_id=chat.id, branch_id=chat.active_branch_id, question="q", response="done",
        generation={"status": "complete", "model": "m"},
    )
    run_of(ended.response_id, chat, user, runner="gone:1")
    before = auth_client.get(GET_BRANCHES, {"chat_id": str(chat.id)}).json()["branches"][0]["message_count"]

    out = StringIO()
    call_command("reconcile_content", "--grace", "0", "--fix", stdout=out, stderr=StringIO())

    assert "[stale_generation_claim]" in out.getvalue()
    after = auth_client.get(GET_BRANCHES, {"chat_id": str(chat.id)}).json()["branches"][0]["message_count"]
    assert (before, after) == (3, 4)
    assert not Run.objects.exists()


def state_of(chat, response_id):
    """What a failure message needs to tell a race from a bug. (These tests
    once failed in full runs only: another process's reaper ended their dead
    run first; see the `deployment` fixture.)"""
    import threading

    return {
        "pair": stored(chat.id, response_id),
        "runs": list(Run.objects.values_list("response_id", "heartbeat_at", "uncounted", "runner")),
        "count": Branch.objects.get(pk=chat.active_branch_id).message_count,
        "threads": sorted(thread.name for thread in threading.enumerate()),
    }


def test_stopping_a_generation_that_died_uncounted_counts_its_pair(auth_client, chat, settings):
    dead = died_generating(chat, response="", uncounted=True)
    before = state_of(chat, dead.response_id)

    stopped = auth_client.post(STOP, {"chat_id": str(chat.id), "response_id": dead.response_id}, format="json")

    assert (stopped.status_code, stopped.json()["status"]) == (HTTPStatus.OK, "interrupted")
    assert Branch.objects.get(pk=chat.active_branch_id).message_count == 4, (before, state_of(chat, dead.response_id))


def test_a_new_question_takes_over_the_claim_of_a_generation_that_died(auth_client, chat, local_provider, settings):
    dead = died_generating(chat, response="", uncounted=True)

    before = state_of(chat, dead.response_id)

    response = auth_client.post(ADD, {"chat_id": str(chat.id), "question": "Still there?"}, format="json")

    assert response.status_code == HTTPStatus.CREATED, response.content
    assert stored(chat.id, dead.response_id).status == "interrupted", (before, state_of(chat, dead.response_id))
    assert Branch.objects.get(pk=chat.active_branch_id).message_count == 5  # each counted once


def test_a_run_whose_pair_is_not_stored_yet_is_a_generation_starting(auth_client, user, chat, local_provider):
    """Between the admission and the stored question (milliseconds) a second
    question is 409, however long the first takes; a run left so by a start
    whose process died (its heartbeat stopped) is taken over."""
    run = run_of(uuid.uuid4(), chat, user, runner="starting:1")
    body = {"chat_id": str(chat.id), "question": "Me too?"}

    refused = auth_client.post(ADD, body, format="json")
    Run.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - datetime.timedelta(seconds=claims.DEAD_AFTER + 1))
    taken_over = auth_client.post(ADD, body, format="json")

    assert refused.json() == error("generation_in_progress", GenerationInProgress.default_detail)
    assert taken_over.status_code == HTTPStatus.CREATED, taken_over.content
    assert Branch.objects.get(pk=chat.active_branch_id).message_count == 4


def test_a_stop_before_the_first_text_leaves_the_pair_counted_once(auth_client, chat, proxied):
    proxied.mode, proxied.delay = "slow_first_token", 2.0
    events = parse(auth_client.post(ADD, {"chat_id": str(chat.id), "question": "q", "stream": True}, format="json").streaming_content)
    name, pair = next(events)
    assert Branch.objects.get(pk=chat.active_branch_id).message_count == 3  # not yet

    stopped = auth_client.post(STOP, {"chat_id": str(chat.id), "response_id": pair["response_id"]}, format="json")

    assert (stopped.json()["status"], stopped.json()["response"]) == ("interrupted", "")
    assert [name for name, _ in events] == ["done"]
    assert Branch.objects.get(pk=chat.active_branch_id).message_count == 4


def test_generating_routes_keep_ownership_and_locks(auth_client, other_client, other_user, chat, local_provider):
    other_chat = ChatFactory(owner=other_user, pairs=1)
    pair = auth_client.get(GET, {"chat_id": str(chat.id)}).json()["messages"][0]
    ids = {"chat_id": str(chat.id), "response_id": pair["response_id"]}

    strangers = [
        other_client.post(REGENERATE, ids, format="json"),
        other_client.post(STOP, ids, format="json"),
        other_client.get(STREAM, ids),
        other_client.post(ADD, {"chat_id": str(chat.id), "question": "q"}, format="json"),
        auth_client.post(REGENERATE, {**ids, "response_id": str(uuid.uuid4())}, format="json"),
        # Another user's branch, named on one's own chat.
        auth_client.post(
            ADD, {"chat_id": str(chat.id), "branch_id": str(other_chat.active_branch_id), "question": "q"}, format="json"
        ),
    ]
    Chat.objects.filter(pk=chat.pk).update(locked=True)
    locked = [
        auth_client.post(REGENERATE, ids, format="json"),
        auth_client.post(STOP, ids, format="json"),
        auth_client.post(ADD, {"chat_id": str(chat.id), "question": "q"}, format="json"),
    ]

    Chat.objects.filter(pk=chat.pk).update(locked=False, hidden=True)
    hidden = [
        auth_client.post(REGENERATE, ids, format="json"),
        auth_client.post(ADD, {"chat_id": str(chat.id), "question": "q"}, format="json"),
    ]

    assert [r.status_code for r in strangers] == [HTTPStatus.NOT_FOUND] * 6
    assert len(content_repository.read_all_pairs(chat_id=chat.id, branch_id=chat.active_branch_id)) == 3
    assert len(content_repository.read_all_pairs(chat_id=other_chat.id, branch_id=other_chat.active_branch_id)) == 1
    assert [r.json()["errors"][0]["code"] for r in locked] == ["chat_locked"] * 3
    assert [r.json() for r in hidden] == [error("not_found", "Chat not found.")] * 2
    assert Branch.objects.filter(chat=chat).count() == 1
    Chat.objects.filter(pk=chat.pk).update(hidden=False)
    assert auth_client.get(GET_BRANCHES, {"chat_id": str(chat.id)}).status_code == HTTPStatus.OK


def test_the_generate_throttle_counts_generations_only(auth_client, chat, local_provider, settings):
    settings.THROTTLE_GENERATE_RATE = "1/minute"
    first = auth_client.post(ADD, {"chat_id": str(chat.id), "question": "q"}, format="json")
    own = auth_client.post(ADD, {"chat_id": str(chat.id), "question": "q", "response": "r"}, format="json")
    second = auth_client.post(ADD, {"chat_id": str(chat.id), "question": "q"}, format="json")

    assert [first.status_code, own.status_code, second.status_code] == [201, 201, 429]
    assert "Retry-After" in second


# llama.cpp's OpenAI-compatible server, behind a proxy of ours.


@pytest.fixture
def proxied(openai_provider, model_proxy, settings):
    """The openai provider talking to the real llama.cpp server through `model_proxy`."""
    settings.LLM_BASE_URL = model_proxy.url
    return model_proxy


def sent_messages(proxy):
    [body] = [body for method, path, body in proxy.requests if path.endswith("/chat/completions")]
    return body["messages"]


def test_the_model_sees_exactly_the_branchs_path(auth_client, chat, proxied, settings):
    """Three levels deep: the root's pairs up to the fork, each branch's own,
    never a turn of another branch; then the limits."""
    settings.LLM_SYSTEM_PROMPT = "Be brief."
    root = auth_client.get(GET, {"chat_id": str(chat.id)}).json()["messages"]

    def fork(after, question, **extra):
        body = {"chat_id": str(chat.id), "response_id": after, "question": question, "response": question.upper()}
        return auth_client.post(CREATE_BRANCH, {**body, **extra}, format="json").json()

    first = fork(root[1]["response_id"], "a0")
    auth_client.post(ADD, {"chat_id": str(chat.id), "question": "a1", "response": "A1"}, format="json")
    second = fork(first["messages"][0]["response_id"], "b0")
    fork(root[2]["response_id"], "elsewhere", activate=False)  # another branch's turn

    response = auth_client.post(ADD, {"chat_id": str(chat.id), "question": "new"}, format="json")

    assert response.status_code == HTTPStatus.CREATED, response.content
    assert response.json()["branch_id"] == second["branch_id"]

    def turns(*pairs):
        return [m for q, r in pairs for m in ({"role": "user", "content": q}, {"role": "assistant", "content": r})]

    assert sent_messages(proxied) == [
        {"role": "system", "content": "Be brief."},
        *turns(("q0", "r0"), ("q1", "r1"), ("a0", "A0"), ("b0", "B0")),
        {"role": "user", "content": "new"},
    ]

    proxied.requests.clear()
    settings.LLM_CONTEXT_PAIRS = 2
    auth_client.post(ADD, {"chat_id": str(chat.id), "question": "newer"}, format="json")
    answered = auth_client.get(GET, {"chat_id": str(chat.id)}).json()["messages"][-2]
    assert sent_messages(proxied)[1:] == [
        *turns(("b0", "B0"), ("new", answered["response"])),
        {"role": "user", "content": "newer"},
    ]

    proxied.requests.clear()
    settings.LLM_CONTEXT_PAIRS = 50
    newer = auth_client.get(GET, {"chat_id": str(chat.id)}).json()["messages"][-1]
    # Room for the question and the newest pair, one character short of the one before.
    settings.LLM_CONTEXT_CHARS = len("newest") + len("newer") + len(newer["response"]) + len("new") + len(
        answered["response"]
    ) - 1
    auth_client.post(ADD, {"chat_id": str(chat.id), "question": "newest"}, format="json")
    assert sent_messages(proxied)[1:] == [*turns(("newer", newer["response"])), {"role": "user", "content": "newest"}]


def test_failed_pairs_are_left_out_of_the_context(auth_client, chat, proxied):
    proxied.mode = "error"
    failed = auth_client.post(ADD, {"chat_id": str(chat.id), "question": "lost"}, format="json")
    proxied.mode = "pass"
    proxied.requests.clear()

    auth_client.post(ADD, {"chat_id": str(chat.id), "question": "next"}, format="json")

    assert failed.status_code == HTTPStatus.BAD_GATEWAY
    assert [m["content"] for m in sent_messages(proxied)[1:]] == ["q0", "r0", "q1", "r1", "q2", "r2", "next"]


def test_stop_closes_the_model_stream(auth_client, chat, proxied, settings):
    settings.LLM_MAX_TOKENS = 200
    proxied.line_delay = 0.05
    response = auth_client.post(ADD, {"chat_id": str(chat.id), "question": "A long story.", "stream": True}, format="json")
    events = parse(response.streaming_content)
    start = next(events)[1]
    assert next(events)[0] == "delta"

    stopped = auth_client.post(STOP, {"chat_id": str(chat.id), "response_id": start["response_id"]}, format="json").json()

    assert stopped["status"] == "interrupted" and stopped["response"]
    assert proxied.upstream_closed_early.wait(5)  # no more tokens paid for
    assert not proxied.upstream_finished.is_set()
    rest = list(events)
    assert rest[-1] == ("done", stopped)


def test_a_worker_that_fails_unexpectedly_ends_its_pair_and_says_so(auth_client, chat, local_provider, monkeypatch):
    """A bug in the worker (here: its final save raises something no store
    raises) must not leave the pair generating: the stream ends with the pair
    as stored, failed or interrupted with model_error, and the branch is free."""
    real_save = content_repository.save_generation
    failures = []

    def final_save_fails_once(**kwargs):
        if kwargs.get("outcome") and kwargs["outcome"]["status"] == "complete" and not failures:
            failures.append(kwargs["response_id"])
            raise RuntimeError("a bug")
        return real_save(**kwargs)

    monkeypatch.setattr(content_repository, "save_generation", final_save_fails_once)

    events = sse(auth_client.post(ADD, {"chat_id": str(chat.id), "question": "Hi.", "stream": True}, format="json"))

    name, data = events[-1]
    kept = stored(chat.id, data["pair"]["response_id"])
    assert (name, data["errors"][0]["code"]) == ("error", "model_error")
    assert failures == [data["pair"]["response_id"]]
    assert data["pair"]["status"] == kept.status == "interrupted"
    assert data["pair"]["response"] == kept.response == joined(events)
    assert kept.error_code == "model_error"
    assert not Run.objects.exists()


@pytest.fixture
def lost_after_append(chat, proxied, settings, monkeypatch):
    """The chat, about to get an answer longer than a second (its count
    comes with its first save), and a concurrent delete-chat that commits
    between the question's write and that count."""
    settings.LLM_MAX_TOKENS = 200
    proxied.line_delay = 0.3  # even a short answer outlasts its first second
    lose_chat_after_append(monkeypatch, chat)
    return chat


def test_a_question_written_to_a_branch_deleted_meanwhile_is_404_and_its_model_stream_closed(
    auth_client, lost_after_append, proxied
):
    """The worker counts the pair at its first save of the text: when its
    branch went in between, the model stops and nothing of the question is left."""
    chat = lost_after_append
    response = auth_client.post(ADD, {"chat_id": str(chat.id), "question": "A long story."}, format="json")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == error("not_found", "Branch not found in this chat.")
    assert raw_buckets().count_documents({"chat_id": str(chat.id)}) == 0
    assert proxied.upstream_closed_early.wait(5)


def test_a_reader_finds_the_question_once_the_pair_event_names_it(auth_client, chat, proxied):
    """The pair is counted only with its first text, but the chat's cached
    reads are stale from the append on."""
    proxied.mode, proxied.delay = "slow_first_token", 2.0
    assert len(auth_client.get(GET, {"chat_id": str(chat.id)}).json()["messages"]) == 3  # now cached
    events = parse(auth_client.post(ADD, {"chat_id": str(chat.id), "question": "q", "stream": True}, format="json").streaming_content)

    name, pair = next(events)
    page = auth_client.get(GET, {"chat_id": str(chat.id)}).json()

    assert name == "pair"
    assert [(p["response_id"], p["status"]) for p in page["messages"][3:]] == [(pair["response_id"], "generating")]
    assert [name for name, _ in events][-1] == "done"


def test_before_the_model_answers_a_question_costs_its_append_and_one_context_read(auth_client, user, proxied, settings):
    """At 3 pairs as at 295 (in 30 buckets, the last with room for the
    question): the context is read where the question was just written,
    without looking the question up again."""
    settings.CONTENT_BUCKET_SIZE = 10
    proxied.mode, proxied.delay = "slow_first_token", 1.0
    costs = []
    for pairs in (3, 295):
        chat = ChatFactory(owner=user, pairs=pairs)
        calls = content_repository.calls()
        body = {"chat_id": str(chat.id), "question": "q", "stream": True}
        events = parse(auth_client.post(ADD, body, format="json").streaming_content)
        assert next(events)[0] == "pair"
        costs.append(content_repository.calls() - calls)
        assert [name for name, _ in events][-1] == "done"

    assert costs == [2, 2]
    sent = [body["messages"] for _, path, body in proxied.requests if path.endswith("/chat/completions")]
    # The system prompt, the pairs (at most LLM_CONTEXT_PAIRS), the question.
    assert [len(messages) for messages in sent] == [1 + 2 * 3 + 1, 1 + 2 * settings.LLM_CONTEXT_PAIRS + 1]


def test_a_streamed_question_whose_branch_went_meanwhile_ends_with_not_found(auth_client, lost_after_append, proxied):
    """Streamed, the pair event has gone out when the loss is found (at the
    count, with the first save of the text): the stream ends with the `error`
    event, and the model's stream is closed."""
    chat = lost_after_append
    events = sse(auth_client.post(ADD, {"chat_id": str(chat.id), "question": "A long story.", "stream": True}, format="json"))

    names = [name for name, _ in events]
    assert (names[0], set(names[1:-1]), names[-1]) == ("pair", {"delta"}, "error")
    assert len(names) < 40  # a second of deltas, not the answer's 200 tokens
    assert events[-1][1]["errors"] == [{"code": "not_found", "detail": "Branch not found in this chat.", "attr": None}]
    assert raw_buckets().count_documents({"chat_id": str(chat.id)}) == 0
    assert proxied.upstream_closed_early.wait(5)


@pytest.mark.parametrize(
    ("mode", "status", "code", "pair_status"),
    [
        ("closed", HTTPStatus.SERVICE_UNAVAILABLE, "model_unavailable", "failed"),
        ("slow_first_token", HTTPStatus.GATEWAY_TIMEOUT, "model_timeout", "failed"),
        ("silent", HTTPStatus.GATEWAY_TIMEOUT, "model_timeout", "failed"),
        ("error", HTTPStatus.BAD_GATEWAY, "model_error", "failed"),
        ("cut", HTTPStatus.BAD_GATEWAY, "model_error", "interrupted"),
    ],
)
def test_each_failure_has_its_status_and_keeps_the_question(auth_client, chat, proxied, settings, mode, status, code, pair_status):
    settings.LLM_TIMEOUT = 1.0
    proxied.mode = mode
    settings.LLM_BASE_URL = proxied.url
    started = time.monotonic()

    response = auth_client.post(ADD, {"chat_id": str(chat.id), "question": "Will it work?"}, format="json")

    assert response.status_code == status, response.content
    assert response.json()["errors"][0]["code"] == code
    assert time.monotonic() - started < 8
    pair = auth_client.get(GET, {"chat_id": str(chat.id)}).json()["messages"][-1]
    assert (pair["question"], pair["status"], pair["finish_reason"]) == ("Will it work?", pair_status, "error")
    assert pair["error_code"] == code  # a reader learns why, after the request that saw it
    assert bool(pair["response"]) == (pair_status == "interrupted")
    # Counted, first text or not (the chat fixture holds 3 pairs).
    assert Branch.objects.get(pk=chat.active_branch_id).message_count == 4
    assert not Run.objects.exists()
    if mode == "error":
        assert "secret" not in response.content.decode()


def test_a_failure_in_a_stream_is_the_error_event(auth_client, chat, proxied):
    proxied.mode = "cut"

    events = sse(auth_client.post(ADD, {"chat_id": str(chat.id), "question": "q", "stream": True}, format="json"))

    name, data = events[-1]
    assert name == "error"
    assert (data["type"], data["errors"][0]["code"]) == ("server_error", "model_error")
    assert data["pair"]["status"] == "interrupted"
    assert joined(events) == data["pair"]["response"] == stored(chat.id, data["pair"]["response_id"]).response


def test_a_full_deployment_is_model_busy_after_the_queue_wait(auth_client, user, proxied, settings):
    settings.LLM_CONCURRENCY, settings.LLM_QUEUE_SECONDS = 1, 0.5
    proxied.mode, proxied.delay = "slow_first_token", 4.0
    one, two = ChatFactory(owner=user, pairs=1), ChatFactory(owner=user, pairs=1)
    running = auth_client.post(ADD, {"chat_id": str(one.id), "question": "q", "stream": True}, format="json")
    events = parse(running.streaming_content)
    next(events)
    started = time.monotonic()

    busy = auth_client.post(ADD, {"chat_id": str(two.id), "question": "q"}, format="json")

    assert 0.5 <= time.monotonic() - started < 1.5
    assert busy.json() == error("model_busy", "Every generation slot is busy. Try again in a moment.", error_type="server_error")
    assert busy.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert len(content_repository.read_all_pairs(chat_id=two.id, branch_id=two.active_branch_id)) == 1  # nothing stored
    assert list(events)[-1][0] == "done"


def test_a_user_at_their_limit_is_told_at_once(auth_client, other_client, user, other_user, proxied, settings):
    settings.LLM_USER_CONCURRENCY = 1
    proxied.mode, proxied.delay = "slow_first_token", 3.0
    one, two = ChatFactory(owner=user, pairs=1), ChatFactory(owner=user, pairs=1)
    theirs = ChatFactory(owner=other_user, pairs=1)
    running = auth_client.post(ADD, {"chat_id": str(one.id), "question": "q", "stream": True}, format="json")
    events = parse(running.streaming_content)
    next(events)

    mine = auth_client.post(ADD, {"chat_id": str(two.id), "question": "q"}, format="json")
    other = other_client.post(ADD, {"chat_id": str(theirs.id), "question": "q", "stream": True}, format="json")

    assert mine.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert mine.json() == error(
        "generation_limit", "You already have 1 answers being generated; wait for one to end or stop it."
    )
    assert len(content_repository.read_all_pairs(chat_id=two.id, branch_id=two.active_branch_id)) == 1
    assert other.status_code == HTTPStatus.OK  # another user's place is their own
    assert [name for name, _ in parse(other.streaming_content)][-1] == "done"
    assert list(events)[-1][0] == "done"


def test_the_local_model_runs_llm_workers_generations_per_process(auth_client, user, local_provider, settings):
    settings.LLM_WORKERS, settings.LLM_QUEUE_SECONDS, settings.LLM_MAX_TOKENS = 1, 0.3, 200
    one, two = ChatFactory(owner=user, pairs=1), ChatFactory(owner=user, pairs=1)
    running = auth_client.post(ADD, {"chat_id": str(one.id), "question": "Tell a long story.", "stream": True}, format="json")
    events = parse(running.streaming_content)
    next(events)

    busy = auth_client.post(ADD, {"chat_id": str(two.id), "question": "q"}, format="json")

    assert busy.json()["errors"][0]["code"] == "model_busy"
    assert list(events)[-1][0] == "done"


def test_streamed_through_the_openai_provider_equals_stored(auth_client, chat, proxied):
    events = sse(auth_client.post(ADD, {"chat_id": str(chat.id), "question": "Hello!", "stream": True}, format="json"))

    done = events[-1][1]
    assert events[-1][0] == "done"
    assert joined(events) == done["response"] == stored(chat.id, done["response_id"]).response
    assert done["status"] == "complete" and done["finish_reason"] in {"stop", "length"}
    assert done["model"]


def test_export_and_import_keep_how_each_response_came_to_be(auth_client, chat, other_user, local_provider, tmp_path):
    generated = auth_client.post(ADD, {"chat_id": str(chat.id), "question": "Hi"}, format="json").json()
    local_provider.LLM_MODEL_PATH = str(tmp_path / "gone.gguf")
    unanswered = auth_client.post(ADD, {"chat_id": str(chat.id), "question": "Still there?"}, format="json")
    assert unanswered.json()["errors"][0]["code"] == "model_unavailable"
    path = tmp_path / "chat.json"
    call_command("export_chat", str(chat.id), "--output", str(path), stdout=StringIO(), stderr=StringIO())

    exported = json.loads(path.read_text())["branches"][0]["pairs"]
    call_command("import_chat", str(path), "--owner", other_user.username, stdout=StringIO(), stderr=StringIO())

    assert exported[0] | {"response_id": None, "timestamp": None} == {
        "response_id": None, "question": "q0", "response": "r0", "timestamp": None,
        "status": "complete", "model": None, "finish_reason": None, "usage": None, "error_code": None,
    }
    keys = ("question", "response", "status", "model", "finish_reason", "usage", "error_code")
    assert {k: exported[3][k] for k in keys} == {k: generated[k] for k in keys}
    assert {k: exported[4][k] for k in ("question", "response", "status", "error_code")} == {
        "question": "Still there?", "response": "", "status": "failed", "error_code": "model_unavailable",
    }
    imported = Chat.objects.get(owner=other_user)
    again = content_repository.read_all_pairs(chat_id=imported.id, branch_id=imported.active_branch_id)
    assert [(p.question, p.response, p.status, p.model, p.finish_reason, p.usage, p.error_code) for p in again] == [
        tuple(e[k] for k in keys) for e in exported
    ]


def test_import_refuses_an_unknown_error_code(auth_client, chat, other_user, local_provider, tmp_path):
    auth_client.post(ADD, {"chat_id": str(chat.id), "question": "Hi"}, format="json")
    path = tmp_path / "chat.json"
    call_command("export_chat", str(chat.id), "--output", str(path), stdout=StringIO(), stderr=StringIO())
    export = json.loads(path.read_text())
    export["branches"][0]["pairs"][3]["error_code"] = "no_such_code"
    path.write_text(json.dumps(export))

    with pytest.raises(CommandError, match="unknown error_code 'no_such_code'"):
        call_command("import_chat", str(path), "--owner", other_user.username, stdout=StringIO(), stderr=StringIO())
    assert not Chat.objects.filter(owner=other_user).exists()


def test_chat_stats_counts_pairs_by_status_and_model(auth_client, chat, local_provider):
    auth_client.post(ADD, {"chat_id": str(chat.id), "question": "Hi"}, format="json")
    out = StringIO()

    call_command("chat_stats", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[4:7] == [
        "  by status: complete 4, generating 0, interrupted 0, failed 0",
        f"  generated by: {providers.model_name()} 1",
        "generating now: 0",
    ]


def test_the_admin_shows_each_pairs_status_and_model(auth_client, chat, local_provider, admin_client):
    generated = auth_client.post(ADD, {"chat_id": str(chat.id), "question": "Hi"}, format="json").json()

    page = admin_client.get(reverse("admin:chats_chat_change", args=[chat.id]))

    rows = [(item["pair"].status, item["pair"].model) for item in page.context["pairs"]]
    assert rows == [("complete", None)] * 3 + [("complete", generated["model"])]
    html = page.content.decode()
    assert html.count("— (sent by the client)") == 3
    assert f"<td>{generated['model']}</td>" in html


# What a client can do about a generation while the stores change under it.


def generating_elsewhere(chat, user):
    """A pair being generated by another process (its run alive; no process
    of this test runs it)."""
    pair = content_repository.append_pair(
        chat_id=chat.id, branch_id=chat.active_branch_id, question="q", response="So far",
        generation={"status": "generating", "model": "m"},
    )
    run_of(pair.response_id, chat, user)
    return pair


def test_a_stream_that_cannot_go_on_ends_with_an_error_event(auth_client, user, chat, settings):
    settings.REDIS_URL = ""  # no event log: the stream follows the store
    pair = generating_elsewhere(chat, user)
    response = auth_client.get(STREAM, {"chat_id": str(chat.id), "response_id": pair.response_id})
    events = parse(response.streaming_content)
    assert next(events)[0] == "pair"

    content_repository.connect("mongodb://127.0.0.1:1/chat_test?serverSelectionTimeoutMS=300")
    try:
        rest = list(events)
    finally:
        content_repository.connect(settings.MONGODB_URI)

    assert rest == [("error", error(
        "service_unavailable", "The content store is unavailable. Try again later.", error_type="server_error"
    ))]


def test_stopping_a_pair_deleted_meanwhile_is_not_found(auth_client, user, chat):
    pair = generating_elsewhere(chat, user)
    deleting = threading.Timer(0.5, lambda: content_repository.delete_chat_content(chat_id=chat.id))
    deleting.start()

    stopped = auth_client.post(STOP, {"chat_id": str(chat.id), "response_id": pair.response_id}, format="json")

    deleting.join()
    assert stopped.status_code == HTTPStatus.NOT_FOUND
    assert stopped.json() == error("not_found", "No pair with this response_id in this chat.")


def test_a_chat_deleted_while_its_first_answer_is_written_is_not_found(auth_client, user, proxied, settings):
    settings.LLM_MAX_TOKENS = 64
    proxied.line_delay = 0.05

    def delete_it_once_answering():
        while not (chat := Chat.objects.filter(owner=user).first()) or proxied.lines_forwarded < 3:
            time.sleep(0.02)
        auth_client.delete(reverse("chats-delete-chat"), {"chat_id": str(chat.id)}, format="json")

    deleting = threading.Thread(target=delete_it_once_answering)
    deleting.start()
    response = auth_client.post(CREATE, {"question": "A long story, please."}, format="json")
    deleting.join(30)

    assert response.status_code == HTTPStatus.NOT_FOUND, response.content
    assert response.json()["errors"][0]["code"] == "not_found"
    assert not Chat.objects.filter(owner=user).exists()
    assert not Run.objects.exists()


def test_generations_go_on_with_redis_down_and_readers_follow_the_store(auth_client, chat, local_provider, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.LLM_MAX_TOKENS = 60
    response = auth_client.post(ADD, {"chat_id": str(chat.id), "question": "Describe a river.", "stream": True}, format="json")
    events = parse(response.streaming_content)
    start = next(events)[1]

    text, followed = follow_elsewhere(readers._Store, chat, start)
    origin = [("pair", start), *events]

    assert origin[-1][0] == "done" and followed[-1] == origin[-1]
    assert joined(origin) == text + joined_from(followed[:-1], offset=len(text)) == origin[-1][1]["response"]
    with pytest.raises(readers.LogUnavailable):
        readers._Log(chat.id, stored(chat.id, start["response_id"]), start["position"])
