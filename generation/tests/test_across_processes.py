"""Generation across two server processes of the service (see `deployment`):
read, resumed, stopped, recovered and drained through a process other than
the one that runs it. The model is llama.cpp's server behind the suite's
proxy; the content store is the suite's wire-protocol test double.

Timings are the benchmark's (`bench/generation.py`); these tests assert what
must happen, with deadlines far above the goals.
"""

import json
import signal
import threading
import time
from http import HTTPStatus

import httpx
import pytest
from django.urls import reverse
from rest_framework_simplejwt.tokens import AccessToken

from accounts.tests.factories import UserFactory
from chats import content_repository
from chats.tests.routes import ADD, CREATE, GET

STOP = reverse("messages-stop-generation")
STREAM = reverse("messages-stream-message")

pytestmark = [pytest.mark.requires_postgres, pytest.mark.requires_redis]


def headers(user, **extra):
    return {"Authorization": f"Bearer {AccessToken.for_user(user)}", **extra}


class Reader:
    """An event stream read on a thread of its own: `.events` as they come,
    each (arrival time, id, name, data); `.comments` counts the keep-alives."""

    def __init__(self, method, url, *, user, body=None, params=None, extra_headers=None, stop_after=None):
        self.events, self.comments, self.status, self.error = [], 0, None, None
        self.started = threading.Event()
        self._stop_after = stop_after
        self._request = (method, url, body, params, headers(user, **(extra_headers or {})))
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            self._read_events()
        except httpx.HTTPError as exc:  # a process killed under it: the test looks
            self.error = exc

    def _read_events(self):
        method, url, body, params, sent = self._request
        with httpx.Client(timeout=60) as client, client.stream(method, url, json=body, params=params, headers=sent) as got:
            self.status = got.status_code
            self.started.set()
            fields = {}
            for line in got.iter_lines():
                if line.startswith(":"):
                    self.comments += 1
                elif line:
                    key, _, value = line.partition(": ")
                    fields[key] = value
                elif fields:
                    self.events.append((time.monotonic(), fields.get("id"), fields["event"], json.loads(fields["data"])))
                    fields = {}
                    if self._stop_after and self._stop_after(self.events):
                        return

    def wait_for(self, condition, timeout=30.0):
        deadline = time.monotonic() + timeout
        while not condition(self.events):
            assert time.monotonic() < deadline, f"timed out; events so far: {self.names()}"
            time.sleep(0.01)
        return self.events

    def join(self, timeout=60.0):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"the stream did not end; events so far: {self.names()}"
        return self.events

    def names(self):
        return [name for _, _, name, _ in self.events]

    def deltas(self):
        return [(data["offset"], data["text"]) for _, _, name, data in self.events if name == "delta"]


def new_chat(process, user) -> str:
    response = httpx.post(
        process.url + CREATE, json={"title": "t", "question": "q0", "response": "r0"}, headers=headers(user)
    )
    assert response.status_code == HTTPStatus.CREATED, response.text
    return response.json()["chat_id"]


def ask(process, user, chat_id, question="Tell me about the sea.", **extra) -> Reader:
    reader = Reader(
        "POST", process.url + ADD, user=user, body={"chat_id": chat_id, "question": question, "stream": True, **extra}
    )
    reader.chat_id = chat_id
    reader.wait_for(lambda events: events and events[0][2] == "pair")
    return reader


def attach(process, user, chat_id, response_id, **options) -> Reader:
    return Reader(
        "GET", process.url + STREAM, user=user, params={"chat_id": chat_id, "response_id": response_id}, **options
    )


def pair_of(reader) -> dict:
    return reader.events[0][3]


def last_pair(process, user, chat_id) -> dict:
    page = httpx.get(process.url + GET, params={"chat_id": chat_id}, headers=headers(user))
    assert page.status_code == HTTPStatus.OK, page.text
    return page.json()["messages"][-1]


def text_of(events, start=""):
    text = start
    for _, event_id, name, data in events:
        if name == "delta":
            assert data["offset"] == len(text), (data, len(text))
            text += data["text"]
            assert event_id == str(len(text))
    return text


def test_a_reader_on_another_process_gets_each_delta_as_it_comes(deployed):
    user = UserFactory()
    a, b = deployed["a"], deployed["b"]
    deployed.proxy.line_delay = 0.03
    chat_id = new_chat(a, user)
    origin = ask(a, user, chat_id)
    origin.wait_for(lambda events: len(events) >= 4)

    elsewhere = attach(b, user, chat_id, pair_of(origin)["response_id"])

    ending = origin.join()[-1]
    events = elsewhere.join()
    assert (ending[1], ending[2]) == ("end", "done")
    assert elsewhere.names()[0] == "pair" and elsewhere.names()[-1] == "done"
    snapshot = events[0][3]["response"]
    assert events[0][1] == str(len(snapshot))
    # Every delta of the generating process after the snapshot, one for one:
    # the same pieces, not a poll of the store.
    assert elsewhere.deltas() == [(offset, text) for offset, text in origin.deltas() if offset >= len(snapshot)]
    assert len(elsewhere.deltas()) >= 3
    assert text_of(events[1:], snapshot) == events[-1][3]["response"] == ending[3]["response"]
    assert events[-1][3] == ending[3]


@pytest.mark.parametrize("how", ["header", "query"])
def test_a_reader_resumes_on_another_process_from_its_last_event(deployed, how):
    user = UserFactory()
    a, b = deployed["a"], deployed["b"]
    deployed.proxy.line_delay = 0.03
    chat_id = new_chat(a, user)
    origin = ask(a, user, chat_id)
    response_id = pair_of(origin)["response_id"]
    first = attach(b, user, chat_id, response_id, stop_after=lambda events: len(events) >= 4)
    got = first.join()
    last_id = got[-1][1]

    if how == "header":
        resumed = attach(a, user, chat_id, response_id, extra_headers={"Last-Event-ID": last_id})
    else:
        params = {"chat_id": chat_id, "response_id": response_id, "after": last_id}
        resumed = Reader("GET", a.url + STREAM, user=user, params=params)

    rest = resumed.join()
    final = origin.join()[-1][3]
    assert resumed.names()[0] == "delta" and resumed.names()[-1] == "done"
    assert rest[0][3]["offset"] == int(last_id)
    # Nothing doubled, nothing lost.
    assert text_of(rest, text_of(got[1:], got[0][3]["response"])) == final["response"]


def test_a_quiet_stream_keeps_its_connection_alive(deployed):
    user = UserFactory()
    a, b = deployed["a"], deployed["b"]
    deployed.proxy.mode, deployed.proxy.delay = "slow_first_token", 3.0
    chat_id = new_chat(a, user)
    origin = ask(a, user, chat_id)

    elsewhere = attach(b, user, chat_id, pair_of(origin)["response_id"])
    elsewhere.wait_for(lambda events: len(events) >= 2)

    # SSE_KEEP_ALIVE_SECONDS is 1 in this deployment; the model was silent for 3 s.
    assert origin.comments >= 1 and elsewhere.comments >= 1
    assert origin.join()[-1][2] == elsewhere.join()[-1][2] == "done"


@pytest.mark.parametrize("when", ["before the first token", "after the first token"])
def test_a_stop_through_another_process_closes_the_models_stream(deployed, when):
    user = UserFactory()
    a, b = deployed["a"], deployed["b"]
    proxy = deployed.proxy
    if when == "before the first token":
        proxy.mode, proxy.delay = "slow_first_token", 60.0
    else:
        proxy.line_delay = 0.05
    chat_id = new_chat(a, user)
    origin = ask(a, user, chat_id)
    if when == "after the first token":
        origin.wait_for(lambda events: len(events) >= 3)

    stopped = httpx.post(
        b.url + STOP, json={"chat_id": chat_id, "response_id": pair_of(origin)["response_id"]}, headers=headers(user)
    )

    assert stopped.status_code == HTTPStatus.OK, stopped.text
    pair = stopped.json()
    assert (pair["status"], pair["finish_reason"]) == ("interrupted", "interrupted")
    assert proxy.upstream_closed_early.wait(5) or proxy.client_disconnected.wait(5)
    assert not proxy.upstream_finished.is_set()
    ending = origin.join()[-1]
    assert (ending[2], ending[3]) == ("done", pair)
    assert text_of(origin.events[1:]) == pair["response"]
    if when == "before the first token":
        assert pair["response"] == ""
    else:
        assert pair["response"]


def test_a_killed_process_is_recovered_with_nobody_reading(deployed):
    user = UserFactory()
    a, b = deployed["a"], deployed["b"]
    deployed.proxy.line_delay = 0.2
    chat_id = new_chat(a, user)
    origin = ask(a, user, chat_id)
    origin.wait_for(lambda events: len(events) >= 2)
    elsewhere = attach(b, user, chat_id, pair_of(origin)["response_id"])
    elsewhere.wait_for(lambda events: len(events) >= 1)
    time.sleep(1.2)  # a save of the text so far

    a.signal(signal.SIGKILL)
    killed_at = time.monotonic()
    a.wait(10)
    origin.join()
    assert isinstance(origin.error, httpx.RemoteProtocolError)  # cut with its process
    while last_pair(b, user, chat_id)["status"] == "generating":
        assert time.monotonic() - killed_at < 30, "still generating"
        time.sleep(0.25)

    pair = last_pair(b, user, chat_id)
    assert (pair["status"], pair["finish_reason"]) == ("interrupted", "interrupted")
    assert pair["response"]  # the text it had saved
    ending = elsewhere.join()[-1]
    assert ending[2] == "done" and ending[3]["status"] == "interrupted"
    # The branch takes a new generation.
    again = ask(b, user, chat_id, question="Are you back?")
    assert again.join()[-1][2] == "done"


def answering_on_a_read_on_b(deployed, *, line_delay):
    """An answer generated on A (the proxy paces it), followed on B."""
    user = UserFactory()
    a, b = deployed["a"], deployed["b"]
    deployed.proxy.line_delay = line_delay
    chat_id = new_chat(a, user)
    origin = ask(a, user, chat_id)
    elsewhere = attach(b, user, chat_id, pair_of(origin)["response_id"])
    elsewhere.wait_for(lambda events: len(events) >= 2)
    return a, origin, elsewhere


def test_a_deploy_lets_running_answers_finish(deployed):
    a, origin, elsewhere = answering_on_a_read_on_b(deployed, line_delay=0.03)

    a.signal(signal.SIGTERM)

    ending = origin.join()[-1]
    assert (ending[2], ending[3]["status"]) == ("done", "complete")
    assert elsewhere.join()[-1][3] == ending[3]
    assert a.wait(30) == 0


def test_a_deploy_stores_the_answers_still_running_at_its_deadline_interrupted(deployed):
    deployed["a"].stop()
    deployed["a"].start(LLM_DRAIN_SECONDS=1)
    a, origin, elsewhere = answering_on_a_read_on_b(deployed, line_delay=0.25)  # 64 tokens: longer than the drain

    a.signal(signal.SIGTERM)

    ending = elsewhere.join()[-1]
    assert (ending[2], ending[3]["status"]) == ("done", "interrupted")
    assert origin.join()[-1][3] == ending[3]
    assert a.wait(30) == 0
    a.start()  # as the other tests expect it


def test_capacity_is_the_deployments_and_each_users(deployed):
    """LLM_CONCURRENCY 2 and LLM_USER_CONCURRENCY 1 in this deployment."""
    first, second, third = UserFactory(), UserFactory(), UserFactory()
    a, b = deployed["a"], deployed["b"]
    deployed.proxy.mode, deployed.proxy.delay = "slow_first_token", 60.0
    one, two = ask(a, first, new_chat(a, first)), ask(b, second, new_chat(b, second))

    full = httpx.post(
        a.url + ADD, json={"chat_id": new_chat(a, third), "question": "q"}, headers=headers(third), timeout=30
    )
    again = httpx.post(
        b.url + ADD, json={"chat_id": new_chat(b, first), "question": "q"}, headers=headers(first), timeout=30
    )

    assert (full.status_code, full.json()["errors"][0]["code"]) == (HTTPStatus.SERVICE_UNAVAILABLE, "model_busy")
    assert (again.status_code, again.json()["errors"][0]["code"]) == (HTTPStatus.TOO_MANY_REQUESTS, "generation_limit")
    for user, reader, process in ((first, one, b), (second, two, a)):
        ids = {"chat_id": reader.chat_id, "response_id": pair_of(reader)["response_id"]}
        assert httpx.post(process.url + STOP, json=ids, headers=headers(user)).status_code == HTTPStatus.OK
        assert reader.join()[-1][2] == "done"


def test_a_reader_elsewhere_gets_the_model_servers_message(deployed):
    user = UserFactory()
    a, b = deployed["a"], deployed["b"]
    deployed.proxy.mode, deployed.proxy.cut_after, deployed.proxy.line_delay = "error_event", 12, 0.05
    chat_id = new_chat(a, user)
    origin = ask(a, user, chat_id)

    elsewhere = attach(b, user, chat_id, pair_of(origin)["response_id"])

    for reader in (origin, elsewhere):
        name, data = reader.join()[-1][2:]
        assert name == "error"
        assert data["errors"] == [
            {
                "code": "model_error",
                "detail": "The language model server reported an error: the model ran out of memory",
                "attr": None,
            }
        ]
    stored = content_repository.read_pair(chat_id=chat_id, response_id=pair_of(origin)["response_id"])
    assert (stored.status, stored.error_code) == ("interrupted", "model_error")


def test_readers_hold_no_database_connection_while_they_wait(deployed):
    """Each process has 3 database connections here (DB_POOL_SIZE): twelve
    streams open at once on each, all served to their end. (A stream that
    held one would leave the others waiting for the pool longer than its
    10 s, then 503: the answer takes longer than that.)"""
    user = UserFactory()
    a, b = deployed["a"], deployed["b"]
    deployed.proxy.line_delay = 0.17
    chat_id = new_chat(a, user)
    origin = ask(a, user, chat_id)
    response_id = pair_of(origin)["response_id"]

    readers = [attach(process, user, chat_id, response_id) for process in (a, b) * 12]

    final = origin.join()[-1][3]
    for reader in readers:
        events = reader.join()
        assert reader.status == HTTPStatus.OK
        assert (events[0][2], events[-1][2]) == ("pair", "done")
        assert text_of(events[1:], events[0][3]["response"]) == final["response"]


def test_a_slow_first_token_is_not_taken_for_death(deployed):
    """The model takes longer to start answering than a process's heartbeat
    may stay silent (8 s): its generation is alive all along, and no reaper
    of the other process ends it."""
    user = UserFactory()
    a, b = deployed["a"], deployed["b"]
    deployed.proxy.mode, deployed.proxy.delay = "slow_first_token", 11.0
    chat_id = new_chat(a, user)
    origin = ask(a, user, chat_id)

    ending = origin.join(60)[-1]

    assert (ending[2], ending[3]["status"]) == ("done", "complete")
    assert ending[3]["response"]
    assert last_pair(b, user, chat_id) == {**ending[3], "alternatives": [ending[3]["branch_id"]]}
