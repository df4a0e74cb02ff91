"""One request at a time, each on a fresh connection, to the service under
gunicorn with one sync worker: what a single request costs end to end on one
core, TCP connect and the per-request database health check included.

These are the conditions under which the service was first compared with a
minimal FastAPI + Motor implementation of the same routes (bench/README.md,
"One request at a time"): chats of 10 and 100 pairs, and the whole of a
1,000-pair chat read right after a write. The server has its own mongomock
store, so every chat is written over HTTP first.

`python -m bench.fresh` runs it alone (after `make bench` has created the
database); `bench/run.py` runs it after the throughput runs.
"""

import http.client
import json
import statistics
import time

from . import http_load

CHATS_PER_CELL = 20  # requests rotate over them, so a chat grows by a few pairs only


def request(port, token, method, path, body=None, expect=200):
    """One request on a connection of its own; returns (seconds, decoded body)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Connection": "close"}
    payload = None if body is None else json.dumps(body)
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request(method, path, body=payload, headers=headers)
    response = connection.getresponse()
    data = response.read()
    elapsed = time.perf_counter() - started
    connection.close()
    if response.status != expect:
        raise RuntimeError(f"{method} {path}: HTTP {response.status}: {data[:300]!r}")
    return elapsed, json.loads(data) if data else None


def _chat_of(port, token, pairs, title):
    """A chat of `pairs` pairs written over one keep-alive connection."""
    from . import seed

    client = http_load.Client(port, token)
    chat = client.json("POST", "/api/v1/chats/create-chat", {"title": title}, expect=201)
    last = None
    for i in range(pairs):
        last = client.json("POST", "/api/v1/messages/add-message",
                           {"chat_id": chat["chat_id"], "question": seed.question(i), "response": seed.response(i)},
                           expect=201)["response_id"]
    client.close()
    return {"chat_id": chat["chat_id"], "last": last}


def run_fresh(*, samples=200, whole_samples=100, log=print):
    from rest_framework_simplejwt.tokens import AccessToken

    from . import seed

    token = str(AccessToken.for_user(seed.user("bench-fresh")))
    cells = []
    with http_load.server(threads=1, worker_class="sync") as port:
        for _ in range(50):  # warm-up: imports, connections, caches
            request(port, token, "GET", "/bench/constant")

        def measure(workload, size, count, send):
            times = [send(i) for i in range(count)]
            cells.append({"workload": workload, "size": size, "samples": count,
                          "median_ms": statistics.median(times) * 1000})
            log(f"fresh connection, {workload}, {size:,} pairs: {cells[-1]['median_ms']:.2f} ms")

        measure("constant JSON (DRF + JWT)", 0, samples, lambda i: request(port, token, "GET", "/bench/constant")[0])
        for size in (10, 100):
            chats = [_chat_of(port, token, size, f"fresh {size} {k}") for k in range(CHATS_PER_CELL)]

            def add(i, chats=chats, size=size):
                chat = chats[i % len(chats)]
                elapsed, pair = request(port, token, "POST", "/api/v1/messages/add-message",
                                        {"chat_id": chat["chat_id"], "question": seed.question(size + i),
                                         "response": seed.response(size + i)}, expect=201)
                chat["last"] = pair["response_id"]
                return elapsed

            def read_after_write(i, chats=chats, add=add):
                add(i)
                return request(port, token, "GET", f"/api/v1/chats/get-chat?chat_id={chats[i % len(chats)]['chat_id']}")[0]

            def branch(i, chats=chats):
                chat = chats[i % len(chats)]
                return request(port, token, "POST", "/api/v1/branches/create-branch",
                               {"chat_id": chat["chat_id"], "response_id": chat["last"]},
                               expect=201)[0]

            measure("add-message (response given)", size, samples, add)
            measure("get-chat right after a write", size, samples, read_after_write)
            measure("create-branch from the last pair", size, samples, branch)

        whole = _chat_of(port, token, 1000, "fresh whole")

        def whole_after_write(i):
            request(port, token, "POST", "/api/v1/messages/add-message",
                    {"chat_id": whole["chat_id"], "question": seed.question(i), "response": seed.response(i)},
                    expect=201)
            return request(port, token, "GET", f"/api/v1/chats/get-chat?chat_id={whole['chat_id']}&limit=1000")[0]

        measure("whole chat (limit=1000) right after a write", 1000, whole_samples, whole_after_write)
    return cells


def fresh_table(cells):
    lines = [
        "One request at a time on a fresh connection: gunicorn, 1 sync worker (one core)",
        f"{'workload':<46}{'pairs':>7}{'n':>5}{'median ms':>11}",
        "-" * 69,
    ]
    for c in cells:
        lines.append(f"{c['workload']:<46}{c['size'] or '':>7}{c['samples']:>5}{c['median_ms']:>11.2f}")
    return "\n".join(lines)


if __name__ == "__main__":
    import os

    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    print(fresh_table(run_fresh()))
