"""The export and import figures of the performance goals: `make bench` runs
it after the others (alone: `.venv/bin/python bench/transfer.py [--runs N]`).

In process, through the API (import-chats with a JSON body, export-chat),
on the benchmark's own stores (bench/settings.py):

- importing one ChatGPT conversation of 100, 1,000 and 10,000 pairs (with an
  edited question every 50 pairs, so branches too): the time per pair at
  10,000 against 1,000 (linear: about 1), and the MongoDB calls per bucket
  written;
- importing 1,000 small conversations in one file;
- exporting the 10,000-pair chat in `json` and `chatgpt`, and its MongoDB
  calls.

Runs of each size alternate, and each figure is a median, so a change of
the machine's load weighs on every size alike. The content store is
emptied before each import: mongomock checks the unique index of a bucket
it inserts by scanning every document, which would charge each import
for the ones before it. Writes a JSON beside
bench/run.py's.
"""

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

SIZES = (100, 1_000, 10_000)
EDIT_EVERY = 50
IMPORT = "/api/v1/chats/import-chats"
EXPORT = "/api/v1/chats/export-chat"


def log(message):
    print(f"[bench-transfer {time.strftime('%H:%M:%S')}] {message}", flush=True)


def conversation(pairs, tag):
    """A ChatGPT conversation of `pairs` pairs on its main path, and an edited
    question (a second user child) after every EDIT_EVERY-th answer."""
    start = 1_764_000_000.0
    mapping = {"root": {"id": "root", "message": None, "parent": None, "children": []}}

    def node(node_id, parent, role, text, moment):
        mapping[node_id] = {
            "id": node_id,
            "parent": parent,
            "children": [],
            "message": {
                "id": node_id,
                "author": {"role": role},
                "create_time": moment,
                "content": {"content_type": "text", "parts": [text]},
                "status": "finished_successfully",
                "metadata": {"model_slug": "gpt-4o"} if role == "assistant" else {},
            },
        }
        mapping[parent]["children"].append(node_id)

    parent = "root"
    for i in range(pairs):
        moment = start + 10 * i
        node(f"u{i}", parent, "user", f"Question {i}: what comes after {i}?", moment)
        node(f"a{i}", f"u{i}", "assistant", f"After {i} comes {i + 1}, as every counting child knows. " * 3, moment + 1)
        if i % EDIT_EVERY == EDIT_EVERY - 1 and i + 1 < pairs:
            node(f"e{i}", f"a{i}", "user", f"An edited question {i}", moment + 2)
            node(f"ea{i}", f"e{i}", "assistant", "An answer on a branch.", moment + 3)
        parent = f"a{i}"
    return {"title": f"Counting {pairs} {tag}", "conversation_id": f"bench-{pairs}-{tag}", "mapping": mapping,
            "current_node": parent, "create_time": start, "update_time": start + 10 * pairs}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="imports of each size (after one warm-up)")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "transfer.json"))
    args = parser.parse_args(argv)

    import django

    django.setup()
    from bench.run import ensure_database, reset_stores
    from chatproject.testing import client_for
    from chats import content_repository

    ensure_database()
    reset_stores()  # migrates too
    from bench.seed import user

    client = client_for(user("transfer-bench"))
    timings = {size: [] for size in SIZES}
    calls, buckets, chats = {}, {}, {}
    for run in range(args.runs + 1):
        for size in SIZES if run % 2 else SIZES[::-1]:
            body = json.dumps([conversation(size, f"run {run}")])
            # mongomock checks a unique index by scanning every document (a
            # server looks it up): each import starts from an empty store, so
            # that the imports before it do not count as its cost.
            content_repository.connection.collection().delete_many({})
            # What earlier runs left for the collector is not this import's.
            gc.collect()
            before = content_repository.calls()
            started = time.perf_counter()
            response = client.post(IMPORT, body, content_type="application/json")
            elapsed = time.perf_counter() - started
            assert response.status_code == 201, response.content[:300]
            chat_id = response.json()["imported"][0]["chat_id"]
            if run:  # the first run warms up
                timings[size].append(elapsed)
            calls[size] = content_repository.calls() - before
            buckets[size] = len(content_repository.bucket_outlines(chat_id=chat_id))
            chats[size] = chat_id
        log(f"run {run}: " + ", ".join(f"{s:,} pairs {timings[s][-1] * 1000:.0f} ms" for s in SIZES if timings[s]))

    per_pair = {size: statistics.median(timings[size]) / size * 1000 for size in SIZES}
    many = [conversation(2, f"many {i}") for i in range(1_000)]
    started = time.perf_counter()
    response = client.post(IMPORT, json.dumps(many), content_type="application/json")
    many_seconds = time.perf_counter() - started
    assert response.status_code == 201 and len(response.json()["imported"]) == 1_000

    exports = {}
    for format in ("json", "chatgpt"):
        seconds, store_calls = [], 0
        for _ in range(3):
            before = content_repository.calls()
            started = time.perf_counter()
            response = client.get(EXPORT, {"chat_id": chats[10_000], "format": format})
            seconds.append(time.perf_counter() - started)
            store_calls = content_repository.calls() - before
            assert response.status_code == 200
        exports[format] = {"ms": statistics.median(seconds) * 1000, "store_calls": store_calls, "bytes": len(response.content)}

    ratio = per_pair[10_000] / per_pair[1_000]
    figures = {
        "import_ms_per_pair": per_pair,
        "import_ratio_10000_vs_1000_per_pair": ratio,
        "import_store_calls": calls,
        "import_buckets": buckets,
        "import_1000_conversations_s": many_seconds,
        "export_10000_pairs": exports,
    }
    print()
    print("goal                                                     measured      target")
    print(f"import, time per pair: 10,000 / 1,000 pairs               {ratio:5.2f}        <= 1.25  "
          f"{'pass' if ratio <= 1.25 else 'FAIL'}")
    for size in SIZES:
        print(f"  import of {size:>6,} pairs: {statistics.median(timings[size]) * 1000:8.0f} ms "
              f"({per_pair[size]:.3f} ms a pair); MongoDB calls {calls[size]} for {buckets[size]} buckets")
    print(f"import of 1,000 conversations (2 pairs each) in one file: {many_seconds:.2f} s")
    for format, figure in exports.items():
        print(f"export of 10,000 pairs, {format:7}: {figure['ms']:.0f} ms, {figure['bytes'] / 1e6:.1f} MB, "
              f"MongoDB calls {figure['store_calls']}")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(figures, indent=2) + "\n")
    log(f"wrote {args.output}")


if __name__ == "__main__":
    main()
