"""The search figures of the performance goals: `make bench` runs it after
the others (alone: `.venv/bin/python bench/search.py`).

Two users on the benchmark's own stores (bench/settings.py): one with 1,000
pairs of history (10 chats of 100), one with 100,000 (100 chats of 1,000),
written through the import path (`transfer.services.import_document`: the
content in one call per chat, the index in the same transaction). Their
texts are drawn from a vocabulary of 5,000 made-up words, with a few words
planted in a fixed number of pairs whatever the history's length: what a
person looks for is rarely in every pair. Then search-messages in process
(APIClient, a real JWT) for both users, round-robin, for:

- one word found in 20 pairs;
- a phrase found in 20 pairs, with an exclusion;
- the second page (a cursor) of a word found in 40 pairs.

The goal: each costs the same (≤ 1.25) at 100,000 pairs as at 1,000.
"""

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

from bench import conversations  # noqa: E402

HISTORIES = {1_000: (10, 100), 100_000: (100, 1_000)}  # pairs: (chats, pairs per chat)
PLANTED = {"lisbon": 20, "night train": 20, "tram": 40}  # words: pairs holding them, whatever the history
SEARCH = "/api/v1/search/search-messages"


def log(message):
    print(f"[bench-search {time.strftime('%H:%M:%S')}] {message}", flush=True)


def vocabulary(size=5_000, seed=7):
    rng = random.Random(seed)
    syllables = [a + b for a in "bcdfghjklmnprstvz" for b in "aeiou"]
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def history(total, chats, per_chat, seed):
    """`chats` ChatGPT conversations of `per_chat` pairs; the planted words
    in their fixed number of pairs, spread over the history."""
    rng, words = random.Random(seed), vocabulary()
    chosen = iter(rng.sample(range(total), sum(PLANTED.values())))  # no pair holds two of them
    planted = {next(chosen): [words_] for words_, count in PLANTED.items() for _ in range(count)}

    def text(index, length):
        extra = planted.get(index, [])
        return " ".join([*(rng.choice(words) for _ in range(length)), *extra])

    pairs = [(text(index, 12), text(index, 60)) for index in range(total)]
    return [
        conversations.linear(pairs[c * per_chat:(c + 1) * per_chat], title=f"history {c}",
                             conversation_id=f"search-{total}-{c}")
        for c in range(chats)
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=6.0, help="seconds of samples per sweep")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "search.json"))
    args = parser.parse_args(argv)

    import django

    django.setup()
    from bench.measure import Case, sweep
    from bench.probes import timing_probes
    from bench.run import ensure_database, reset_stores
    from bench.seed import user
    from bench.workloads import reset_throttle
    from chatproject.testing import client_for
    from search.models import SearchEntry
    from transfer.services import import_document

    ensure_database()
    reset_stores()
    owners = {}
    for total, (chats, per_chat) in HISTORIES.items():
        owner = user(f"search-{total}")
        started = time.perf_counter()
        conversations = history(total, chats, per_chat, seed=total)
        for chunk in range(0, chats, 10):
            import_document(conversations[chunk:chunk + 10], owner=owner, keep_hidden=True)
        entries = SearchEntry.objects.filter(owner=owner).count()
        assert entries == total, (entries, total)
        log(f"{total:,} pairs in {chats} chats imported and indexed in {time.perf_counter() - started:.0f} s")
        owners[total] = owner
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE search_entries")

    queries = {
        "one word, 20 pairs": {"q": "lisbon"},
        "phrase and exclusion, 20 pairs": {"q": '"night train" -tram'},
        "second page, 40 pairs": {"q": "tram", "page": 2},
    }
    cases = []
    for total, owner in owners.items():
        client = client_for(owner)
        for label, query in queries.items():
            params = {"q": query["q"]}
            if query.get("page") == 2:
                first = client.get(SEARCH, params).json()
                assert len(first["results"]) == 20 and first["next_cursor"], first
                params["cursor"] = first["next_cursor"]
            answer = client.get(SEARCH, params).json()
            assert len(answer["results"]) == 20, (label, total, len(answer["results"]))
            cases.append(Case(f"search, {label}", total, lambda c=client, p=params: c.get(SEARCH, p),
                              lambda o=owner: reset_throttle(o)))
    with timing_probes():
        results = sweep(cases, budget=args.budget, min_samples=20, max_samples=400)

    by = {(r.workload, r.size): r for r in results}
    print()
    print(f"{'search-messages':<44}{'1,000 pairs':>13}{'100,000 pairs':>15}{'ratio':>8}  target")
    figures = {}
    for label in queries:
        small, big = by[(f"search, {label}", 1_000)], by[(f"search, {label}", 100_000)]
        ratio = big.median_ms / small.median_ms
        figures[label] = {"1000_ms": small.median_ms, "100000_ms": big.median_ms, "ratio": ratio,
                          "sql_statements": big.counts["sql"]}
        print(f"{label:<44}{small.median_ms:>10.2f} ms{big.median_ms:>12.2f} ms{ratio:>8.2f}  ≤ 1.25 "
              f"{'pass' if ratio <= 1.25 else 'MISS'}")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(figures, indent=2) + "\n")
    log(f"wrote {args.output}")


if __name__ == "__main__":
    main()
