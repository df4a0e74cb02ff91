"""The share figures of the performance goals: `make bench` runs it after
the others (alone: `.venv/bin/python bench/shares.py`).

In process, through the API (APIClient, a real JWT), on the benchmark's own
stores: chats whose root holds 10 and 10,000 pairs (written through the
import path), then, round-robin:

- create-share of the whole path (its last pair);
- get-shared, the first page and the last page, of 10 pairs (what a
  10-pair share holds: the pages compared carry as many pairs), as read
  again (a share's pages never change: they are cached once read) and the
  first page as read the first time;

each at 10 against 10,000 pairs of path (the goal: ≤ 1.25: a share is a
reference, never a copy). Then fork-shared of the 10,000-pair share: its
time per pair against a 1,000-pair share, and its MongoDB calls for the
buckets it writes.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

from bench import conversations  # noqa: E402

SIZES = (10, 1_000, 10_000)
CREATE, LIST, GET, FORK = ("/api/v1/shares/create-share", "/api/v1/shares/list-shares",
                           "/api/v1/shared/get-shared", "/api/v1/shares/fork-shared")


def log(message):
    print(f"[bench-shares {time.strftime('%H:%M:%S')}] {message}", flush=True)


def conversation(pairs):
    return conversations.linear([(f"Question {i}?", f"Answer {i}. " * 20) for i in range(pairs)],
                                title=f"{pairs} pairs", conversation_id=f"shares-{pairs}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=5.0, help="seconds of samples per sweep")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "shares.json"))
    args = parser.parse_args(argv)

    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import cache

    from bench.measure import Case, sweep
    from bench.probes import timing_probes
    from bench.run import ensure_database, reset_stores
    from bench.seed import user
    from bench.workloads import reset_throttle
    from chatproject.testing import client_for
    from chats import content_repository
    from shares.models import Share
    from transfer.services import import_document

    ensure_database()
    reset_stores()
    settings.SHARES_PER_USER = 10**9
    settings.THROTTLE_SHARED_RATE = "1000000/minute"
    owner = user("shares-owner")
    client, reader = client_for(owner), client_for(user("shares-reader"))
    chats = {}
    for size in SIZES:
        result = import_document([conversation(size)], owner=owner, keep_hidden=True)
        chats[size] = result.imported[0]["chat_id"]
    created = {size: client.post(CREATE, {"chat_id": str(chats[size])}, format="json").json() for size in SIZES}
    tokens = {size: share["token"] for size, share in created.items()}
    share_ids = {size: share["share_id"] for size, share in created.items()}
    log("seeded 10, 1,000 and 10,000-pair chats and a share of each")

    def create(size):
        return lambda: client.post(CREATE, {"chat_id": str(chats[size])}, format="json")

    def clean():
        reset_throttle(owner)
        Share.objects.filter(owner=owner).exclude(token__in=tokens.values()).delete()

    cases = []
    for size in (10, 10_000):
        cases.append(Case("create-share, whole path", size, create(size), clean, expect=201))
        cases.append(Case("get-shared, first page", size, lambda s=size: reader.get(GET, {"token": tokens[s], "limit": 10})))
        cases.append(Case("get-shared, first page, first read", size,
                          lambda s=size: reader.get(GET, {"token": tokens[s], "limit": 10}),
                          lambda s=size: cache.delete(f"share:{share_ids[s]}:page:0:10")))
        last = size - 10
        cases.append(Case("get-shared, last page", size,
                          lambda s=size, o=last: reader.get(GET, {"token": tokens[s], "offset": o, "limit": 10})))
    with timing_probes():
        results = sweep(cases, budget=args.budget, min_samples=20, max_samples=300)
    by = {(r.workload, r.size): r for r in results}

    forks = {}
    for size in (1_000, 10_000):
        times = []
        for _ in range(3):
            before = content_repository.calls()
            started = time.perf_counter()
            answer = reader.post(FORK, {"token": tokens[size]}, format="json")
            times.append(time.perf_counter() - started)
            assert answer.status_code == 201, answer.content[:300]
            calls = content_repository.calls() - before
        buckets = len(content_repository.bucket_outlines(chat_id=answer.json()["chat_id"]))
        forks[size] = {"ms": statistics.median(times) * 1000, "store_calls": calls, "buckets_written": buckets}

    print()
    print(f"{'shares':<36}{'10 pairs':>11}{'10,000 pairs':>14}{'ratio':>8}  target")
    figures = {}
    for workload in ("create-share, whole path", "get-shared, first page", "get-shared, last page",
                     "get-shared, first page, first read"):
        small, big = by[(workload, 10)], by[(workload, 10_000)]
        ratio = big.median_ms / small.median_ms
        figures[workload] = {"10_ms": small.median_ms, "10000_ms": big.median_ms, "ratio": ratio,
                             "store_ms": [small.store_ms, big.store_ms], "sql_ms": [small.sql_ms, big.sql_ms],
                             "store_calls": [small.counts["mongo"], big.counts["mongo"]],
                             "mongo_kb": [small.counts["mongo_kb"], big.counts["mongo_kb"]],
                             "mock_kb": [small.counts["mock_kb"], big.counts["mock_kb"]]}
        print(f"{workload:<36}{small.median_ms:>8.2f} ms{big.median_ms:>11.2f} ms{ratio:>8.2f}  ≤ 1.25 "
              f"{'pass' if ratio <= 1.25 else 'MISS'}")
        print(f"{'':<4}inside the content store {small.store_ms:.2f} / {big.store_ms:.2f} ms "
              f"({small.counts['mongo']} / {big.counts['mongo']} calls, mongomock copied {small.counts['mock_kb']:.0f} / "
              f"{big.counts['mock_kb']:.0f} KB); rest {small.median_ms - small.store_ms:.2f} / {big.median_ms - big.store_ms:.2f} ms")
    per_pair = forks[10_000]["ms"] / 10_000 / (forks[1_000]["ms"] / 1_000)
    figures["fork"] = {**forks, "per_pair_10000_vs_1000": per_pair}
    for size, fork in forks.items():
        print(f"fork-shared of {size:>6,} pairs: {fork['ms']:.0f} ms, MongoDB calls {fork['store_calls']} "
              f"(reads, then one write of {fork['buckets_written']} buckets)")
    print(f"fork-shared, time per pair 10,000 / 1,000: {per_pair:.2f}")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(figures, indent=2) + "\n")
    log(f"wrote {args.output}")


if __name__ == "__main__":
    main()
