"""The workloads of the benchmark, as `Case`s for `measure.sweep`.

Every request goes through the whole stack in-process: Django's test client
(`APIClient`) with a real JWT, middleware, DRF authentication (one user row),
throttling (Redis), the view, and the stores. Two things are set before each
sample, off the clock:

- the user's throttle history is cleared. DRF keeps, per user, a list of the
  times of every request in the window and reads and rewrites the whole list
  on each request; left alone, it would grow with every request the benchmark
  makes and a later workload would pay for the earlier ones. The baseline row
  "constant JSON, throttle history at cap" shows what a full history costs.
- for the uncached reads, the chat's cache generation is bumped, as any write
  to the chat would, so the read is computed from the stores.
"""

import random
import time

from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from django_redis import get_redis_connection

from chatproject.cache import bump_chat
from chatproject.testing import client_for
from chats import content_repository

from .measure import Case
from .seed import question, response

PAGE = 50


def throttle_key(user):
    return f"throttle_user_{user.pk}"


def reset_throttle(user):
    cache.delete(throttle_key(user))


def fill_throttle(user, entries=999):
    """A window one short of the production cap (1,000/minute), all recent:
    the sorted set of request times the throttles' script keeps."""
    key, now_ms = cache.make_key(throttle_key(user)), time.time() * 1000
    client = get_redis_connection("default")
    client.delete(key)
    client.zadd(key, {f"bench-{i}": now_ms - i * 50 for i in range(entries)})
    client.pexpire(key, 60_000)


def _prepare(user, chat_id=None):
    def prepare():
        reset_throttle(user)
        if chat_id is not None:
            bump_chat(chat_id)

    return prepare


def baseline_cases(*, user, capped_user, read_chats):
    client, capped = client_for(user), client_for(capped_user)
    url = reverse("bench-constant")
    redis = get_redis_connection("default")
    redis.set("bench:raw", b"x" * 64)

    def select_one():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    one_bucket = read_chats[100]
    long_chat = read_chats[max(read_chats)]
    return [
        Case("constant JSON (DRF + JWT)", None, lambda: client.get(url), _prepare(user)),
        Case(
            "constant JSON, throttle history at cap",
            None,
            lambda: capped.get(url),
            lambda: fill_throttle(capped_user),
            note="the user's DRF throttle history holds 999 entries before the request",
        ),
        Case("raw Redis GET", None, lambda: redis.get("bench:raw"), expect=None),
        Case("raw PostgreSQL SELECT 1", None, select_one, expect=None),
        Case(
            "raw content read, 1 bucket",
            one_bucket.pairs,
            lambda: content_repository.read_pairs_before(chat_id=one_bucket.chat_id, branch_id=one_bucket.root_id, limit=PAGE),
            expect=None,
            note="latest 50 pairs of a branch with one bucket of 100 pairs",
        ),
        Case(
            "raw content read, newest bucket",
            long_chat.pairs,
            lambda: content_repository.read_pairs_before(chat_id=long_chat.chat_id, branch_id=long_chat.root_id, limit=PAGE),
            expect=None,
            note="the same read on a branch of 100 buckets: one bucket is used, mongomock copies all",
        ),
    ]


def get_chat_cases(*, user, chats, cached, limit=PAGE):
    """get-chat's latest page of `limit` pairs (1,000: the whole chat, up to that length)."""
    client, url = client_for(user), reverse("chats-get-chat")
    label = ("get-chat, latest 50, " if limit == PAGE else "get-chat, whole chat, ") + ("cached" if cached else "uncached")
    cases = []
    for size, seeded in sorted(chats.items()):
        if limit != PAGE and seeded.pairs > limit:
            continue
        params = {"chat_id": str(seeded.chat_id), "limit": limit}
        prepare = _prepare(user) if cached else _prepare(user, seeded.chat_id)
        # A whole chat past one bucket takes two reads (the open bucket, then
        # the rest): bounded, but more than a 10-pair chat's one.
        cases.append(Case(label, size, lambda p=params: client.get(url, p), prepare, compare_calls=limit == PAGE))
    return cases


def get_messages_paging_cases(*, user, chats, seed=0):
    """Pages of 50 from the latest back to the first, in a shuffled cycle so the
    samples cover every depth; each page uncached."""
    client, url = client_for(user), reverse("messages-get-messages")
    cases = []
    for size, seeded in sorted(chats.items()):
        # The page before the one ending at position p starts at p - 50, and
        # `before` names the pair at p: on a root-only chat, response_ids[p].
        befores = [None] + [seeded.response_ids[p] for p in range(seeded.pairs - PAGE, 0, -PAGE)]
        random.Random(seed + size).shuffle(befores)
        cycle = {"i": 0}

        def page(before, seeded=seeded):
            params = {"chat_id": str(seeded.chat_id), "limit": PAGE}
            if before:
                params["before"] = before
            return client.get(url, params)

        def call(befores=befores, cycle=cycle, page=page):
            before = befores[cycle["i"] % len(befores)]
            cycle["i"] += 1
            return page(before)

        # Counted: the oldest page, which names a `before` whenever there are two pages or more.
        oldest = seeded.response_ids[PAGE] if seeded.pairs > PAGE else None
        cases.append(
            Case(
                "get-messages, paging to the start",
                size,
                call,
                _prepare(user, seeded.chat_id),
                note=f"{len(befores)} pages of 50, sampled in shuffled order, uncached; counts: the oldest page",
                count_call=lambda oldest=oldest, page=page: page(oldest),
                compare_calls=oldest is not None,
            )
        )
    return cases


def get_branches_cases(*, user, chats):
    client, url = client_for(user), reverse("branches-get-branches")
    return [
        Case(
            "get-branches, 100 branches, uncached",
            size,
            lambda s=seeded: client.get(url, {"chat_id": str(s.chat_id)}),
            _prepare(user, seeded.chat_id),
        )
        for size, seeded in sorted(chats.items())
    ]


def list_chats_cases(*, user, chat_count, page_size=20):
    """The first page and the page 1,000 pages deep, reached by following
    `next` links as a client would."""
    client, url = client_for(user), reverse("chats-list-chats")
    pages = chat_count // page_size
    target = min(1000, pages)
    link = url
    for _ in range(target - 1):
        link = client.get(link).json()["next"]
    # `link` now fetches page `target`.
    return [
        Case("list-chats, first page", chat_count, lambda: client.get(url), _prepare(user)),
        Case(f"list-chats, page {target:,}", chat_count, lambda: client.get(link), _prepare(user)),
    ]


def create_branch_cases(*, user, chats, where):
    client, url = client_for(user), reverse("branches-create-branch")
    cases = []
    for size, seeded in sorted(chats.items()):
        fork = seeded.response_ids[-1] if where == "last" else seeded.response_ids[seeded.pairs // 2]
        body = {"chat_id": str(seeded.chat_id), "response_id": fork}
        cases.append(
            Case(
                f"create-branch, from the {where} pair",
                size,
                lambda b=body: client.post(url, b, format="json"),
                _prepare(user),
                expect=201,
            )
        )
    return cases


def add_message_cases(*, user, chats, deep):
    client, url = client_for(user), reverse("messages-add-message")
    cases = []
    for size, seeded in sorted(chats.items()):
        branch_id = seeded.deep_branch_id if deep else seeded.root_id
        counter = {"i": 0}

        def call(seeded=seeded, branch_id=branch_id, counter=counter):
            counter["i"] += 1
            body = {
                "chat_id": str(seeded.chat_id),
                "branch_id": str(branch_id),
                "question": question(counter["i"]),
                "response": response(counter["i"]),
            }
            return client.post(url, body, format="json")

        label = "add-message, branch 5 levels deep" if deep else "add-message, root branch"
        cases.append(Case(label, size, call, _prepare(user), expect=201))
    return cases
