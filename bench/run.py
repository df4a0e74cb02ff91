"""The benchmark of the performance goals (README, "Performance"): `make bench` (or `make bench BENCH_ARGS=--quick`).

Seeds its own data (PostgreSQL `chat_bench`, Redis db 14, mongomock
`chat_bench`; see bench/settings.py), all of it before measuring anything, so
that mongomock, which scans whole collections, holds the same documents for
every chat length compared. Then times each workload in-process, serves the
service with gunicorn for a throughput run on 127.0.0.1, prints the tables and
writes bench/results/latest.json.
"""

import argparse
import gc
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

SIZES = (10, 100, 1_000, 10_000)
SPREAD_BRANCHES = 95  # plus the 5-deep chain: 100 branches besides the root
STORAGE_PAIRS, STORAGE_BRANCHES = 1_000, 100
LIST_CHATS = 20_000

PROFILES = {
    "full": {
        "budget": 8.0, "slow_budget": 16.0, "min_samples": 20, "max_samples": 400, "warmup": 3,
        "http_requests": 2_000, "client_threads": 8, "server_threads": 4, "fresh_samples": 200,
    },
    "quick": {
        "budget": 1.5, "slow_budget": 3.0, "min_samples": 8, "max_samples": 100, "warmup": 2,
        "http_requests": 400, "client_threads": 8, "server_threads": 4, "fresh_samples": 60,
    },
}


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def ensure_database():
    """Create the benchmark's PostgreSQL database when it is missing."""
    import psycopg
    from django.conf import settings
    from psycopg import sql

    db = settings.DATABASES["default"]
    params = {"host": db.get("HOST") or "127.0.0.1", "port": db.get("PORT") or 5432, "dbname": "postgres"}
    if db.get("USER"):
        params["user"] = db["USER"]
    if db.get("PASSWORD"):
        params["password"] = db["PASSWORD"]
    with psycopg.connect(autocommit=True, connect_timeout=5, **params) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
            log(f"created database {db['NAME']}")


def reset_stores():
    from django.core.cache import cache
    from django.core.management import call_command

    from chats import content_repository

    call_command("migrate", interactive=False, verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    cache.clear()
    content_repository.connect()  # mongomock: a fresh, empty store
    if not content_repository.is_ephemeral():
        name = content_repository.database_name()
        if "bench" not in name:
            raise SystemExit(f"refusing to empty MongoDB database {name!r}: its name must contain 'bench'")
        content_repository.connection.collection().drop()
        content_repository.ensure_indexes()


def seed_everything():
    from bench import seed

    owner = seed.user("bench-owner")
    data = {"owner": owner, "reads": {}, "writes": {}}
    started = time.perf_counter()
    for size in SIZES:
        data["reads"][size] = seed.chat_with_pairs(owner=owner, pairs=size, title=f"read {size}")
        data["writes"][size] = chat = seed.chat_with_pairs(owner=owner, pairs=size, title=f"write {size}")
        seed.spread_branches(owner=owner, seeded=chat, count=SPREAD_BRANCHES)
        seed.deep_chain(owner=owner, seeded=chat)
        log(f"seeded chats of {size:,} pairs ({time.perf_counter() - started:.0f} s)")

    storage = seed.chat_with_pairs(owner=owner, pairs=STORAGE_PAIRS, title="storage")
    before = seed.content_bytes(storage.chat_id)
    seed.spread_branches(owner=owner, seeded=storage, count=STORAGE_BRANCHES)
    after = seed.content_bytes(storage.chat_id)
    data["storage"] = {"pairs": STORAGE_PAIRS, "branches": STORAGE_BRANCHES, "bytes_before": before, "bytes_after": after}

    lister = seed.user("bench-lister")
    seed.many_chats(owner=lister, count=LIST_CHATS)
    data["lister"] = lister
    data["baseline_user"] = seed.user("bench-baseline")
    data["capped_user"] = seed.user("bench-capped")
    from chats import content_repository

    collection = content_repository.connection.collection()
    data["content_documents"] = collection.count_documents({})
    log(f"seeding done in {time.perf_counter() - started:.0f} s: {data['content_documents']} content documents, "
        f"{LIST_CHATS:,} chats for list-chats")
    return data


def ratio(results, workload, numerator, denominator, target, name):
    by = {(r.workload, r.size): r for r in results}
    value = by[(workload, numerator)].median_ms / by[(workload, denominator)].median_ms
    return {"name": name, "value": value, "target": target, "pass": value <= target}


def run_in_process(data, profile, only=None, profile_dir=None):
    from bench import workloads as w
    from bench.measure import sweep
    from bench.probes import timing_probes

    owner, reads, writes = data["owner"], data["reads"], data["writes"]
    plan = [
        ("baselines", lambda: w.baseline_cases(user=data["baseline_user"], capped_user=data["capped_user"], read_chats=reads), "budget"),
        # The constant-JSON baseline again, side by side with the cached reads it is compared to.
        ("get-chat cached", lambda: w.baseline_cases(user=data["baseline_user"], capped_user=data["capped_user"], read_chats=reads)[:1]
         + w.get_chat_cases(user=owner, chats=reads, cached=True), "budget"),
        ("get-chat uncached", lambda: w.get_chat_cases(user=owner, chats=reads, cached=False), "slow_budget"),
        ("whole chat", lambda: w.get_chat_cases(user=owner, chats=reads, cached=False, limit=1_000), "slow_budget"),
        ("get-messages", lambda: w.get_messages_paging_cases(user=owner, chats=reads), "slow_budget"),
        ("get-branches", lambda: w.get_branches_cases(user=owner, chats=writes), "budget"),
        ("list-chats", lambda: w.list_chats_cases(user=data["lister"], chat_count=LIST_CHATS), "budget"),
        # Writes last: they add branches and pairs to the write chats.
        ("create-branch last", lambda: w.create_branch_cases(user=owner, chats=writes, where="last"), "budget"),
        ("create-branch middle", lambda: w.create_branch_cases(user=owner, chats=writes, where="middle"), "budget"),
        ("add-message root", lambda: w.add_message_cases(user=owner, chats=writes, deep=False), "budget"),
        ("add-message deep", lambda: w.add_message_cases(user=owner, chats=writes, deep=True), "budget"),
    ]
    sweeps = {}
    with timing_probes():
        for name, build, budget in plan:
            if only and not any(o in name for o in only):
                continue
            started = time.perf_counter()
            cases = build()
            sweeps[name] = sweep(
                cases,
                budget=profile[budget],
                min_samples=profile["min_samples"],
                max_samples=profile["max_samples"],
                warmup=profile["warmup"],
                profile_path=profile_dir / f"profile-{name.replace(' ', '-')}.txt" if profile_dir else None,
            )
            log(f"{name}: {len(cases)} cases in {time.perf_counter() - started:.1f} s")
    return sweeps


def spec_ratios(sweeps, storage):
    big, small = max(SIZES), min(SIZES)
    ratios = []
    all_results = [r for results in sweeps.values() for r in results]

    def add(sweep_name, workload, numerator, denominator, target, name):
        if sweep_name in sweeps:
            ratios.append(ratio(all_results, workload, numerator, denominator, target, name))

    for sweep_name, workload in (
        ("create-branch last", "create-branch, from the last pair"),
        ("create-branch middle", "create-branch, from the middle pair"),
        ("add-message root", "add-message, root branch"),
        ("add-message deep", "add-message, branch 5 levels deep"),
    ):
        add(sweep_name, workload, big, small, 1.25, f"{workload}: {big:,} / {small:,} pairs")
    add("get-chat uncached", "get-chat, latest 50, uncached", big, 100, 1.25, f"get-chat latest 50, uncached: {big:,} / 100 pairs")
    add("get-chat cached", "get-chat, latest 50, cached", big, 100, 1.25, f"get-chat latest 50, cached: {big:,} / 100 pairs")
    add("get-branches", "get-branches, 100 branches, uncached", big, small, 1.25, f"get-branches, 100 branches: {big:,} / {small:,} pairs")
    if "get-chat cached" in sweeps:
        by = {(r.workload, r.size): r for r in sweeps["get-chat cached"]}
        value = by[("get-chat, latest 50, cached", big)].median_ms / by[("constant JSON (DRF + JWT)", None)].median_ms
        ratios.append({"name": f"get-chat cached ({big:,} pairs) / constant JSON, same sweep", "value": value,
                       "target": 1.5, "pass": value <= 1.5})
    if "list-chats" in sweeps:
        first, deep = sweeps["list-chats"]
        value = deep.median_ms / first.median_ms
        ratios.append({"name": f"{deep.workload} / first page ({LIST_CHATS:,} chats)", "value": value,
                       "target": 1.25, "pass": value <= 1.25})
    if storage:
        value = storage["bytes_after"] / storage["bytes_before"]
        ratios.append({"name": f"content bytes after {storage['branches']} branches / before ({storage['pairs']:,}-pair chat)",
                       "value": value, "target": 1.01, "pass": value <= 1.01})
    return ratios


def calls_checks(sweeps):
    """Goal: calls per request do not grow with the chat's length."""
    checks = []
    for results in sweeps.values():
        sized = {}
        for r in results:
            if r.size is not None and r.compare_calls and r.workload[:4] != "raw ":
                sized.setdefault(r.workload, []).append(r)
        for workload, rs in sized.items():
            if len(rs) < 2:
                continue
            lo, hi = min(rs, key=lambda r: r.size), max(rs, key=lambda r: r.size)
            sql, mongo = (lo.counts["sql"], hi.counts["sql"]), (lo.counts["mongo"], hi.counts["mongo"])
            checks.append({
                "workload": f"{workload} ({lo.size:,} → {hi.size:,})",
                "sql": sql, "mongo": mongo, "kb": (lo.counts["mongo_kb"], hi.counts["mongo_kb"]),
                "pass": sql[1] <= sql[0] and mongo[1] <= mongo[0],
            })
    return checks


def run_http(data, profile):
    from rest_framework_simplejwt.tokens import AccessToken

    from bench import http_load, seed

    threads, requests = profile["client_threads"], profile["http_requests"]
    tokens = {name: str(AccessToken.for_user(seed.user(f"bench-http-{name}")))
              for name in ("warmup", "constant-1", "constant-2", "get-chat", "add-message")}
    runs = []
    with http_load.server(threads=profile["server_threads"]) as port:
        def clients(name):
            return [http_load.Client(port, tokens[name]) for _ in range(threads)]

        def constant(client, _):
            return client.request("GET", "/bench/constant")[0]

        http_load.load(clients=clients("warmup"), requests=200, send=constant)

        # get-chat (cached): a chat of 100 pairs written over HTTP, its latest page read once to fill the cache.
        setup = http_load.Client(port, tokens["get-chat"])
        chat_id = setup.json("POST", "/api/v1/chats/create-chat", {"title": "http read"}, expect=201)["chat_id"]
        for i in range(100):
            setup.json("POST", "/api/v1/messages/add-message",
                       {"chat_id": chat_id, "question": seed.question(i), "response": seed.response(i)}, expect=201)
        page = f"/api/v1/chats/get-chat?chat_id={chat_id}&limit=50"
        setup.json("GET", page)
        setup.close()

        # add-message: each client thread appends to a chat of its own.
        writer = http_load.Client(port, tokens["add-message"])
        own_chats = [writer.json("POST", "/api/v1/chats/create-chat", {"title": f"http write {i}"}, expect=201)["chat_id"]
                     for i in range(threads)]
        writer.close()
        body = {"question": seed.question(1), "response": seed.response(1)}

        def get_chat(client, _):
            return client.request("GET", page)[0]

        def add_message(client, index):
            return client.request("POST", "/api/v1/messages/add-message", {**body, "chat_id": own_chats[index]})[0]

        for name, token, send in (
            ("constant JSON (DRF + JWT)", "constant-1", constant),
            ("get-chat, latest 50, cached", "get-chat", get_chat),
            ("add-message, root branch", "add-message", add_message),
            ("constant JSON (DRF + JWT), again", "constant-2", constant),
        ):
            result = http_load.load(clients=clients(token), requests=requests, send=send)
            runs.append({"workload": name, **result})
            log(f"HTTP {name}: {result['rps']:.0f} req/s")
    baseline = (runs[0]["rps"] + runs[-1]["rps"]) / 2
    for run in runs:
        run["vs_constant"] = run["rps"] / baseline
    return runs


def versions():
    from django.db import connection
    from django_redis import get_redis_connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    redis = get_redis_connection("default").info("server").get("redis_version")
    return pg, redis


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter sweeps and HTTP runs (same data, same sizes)")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP throughput runs")
    parser.add_argument("--only", nargs="*", help="run only the sweeps whose name contains one of these words")
    parser.add_argument("--output", help="where to write the JSON (default bench/results/latest.json)")
    parser.add_argument("--profile", action="store_true",
                        help="run each sweep's timed rounds under cProfile; stats go to bench/results/profile-*.txt")
    args = parser.parse_args(argv)
    profile_name = "quick" if args.quick else "full"
    profile = PROFILES[profile_name]

    import django

    started = time.perf_counter()
    ensure_database()
    django.setup()
    from bench import report
    from bench.fresh import fresh_table, run_fresh

    reset_stores()
    pg, redis = versions()
    machine = report.machine(pg, redis)
    log(f"profile {profile_name}; {machine['cpu']}, {machine['cores']} cores; PostgreSQL {pg}, Redis {redis}, mongomock")

    data = seed_everything()
    # mongomock keeps every seeded pair on this process's heap: freeze it, so
    # the garbage collector's full passes cost what the application's own
    # objects cost, as they would with content in a MongoDB server.
    gc.collect()
    gc.freeze()
    profile_dir = None
    if args.profile:
        profile_dir = report.RESULTS
        profile_dir.mkdir(parents=True, exist_ok=True)
    sweeps = run_in_process(data, profile, only=args.only, profile_dir=profile_dir)
    http_runs = [] if args.no_http else run_http(data, profile)
    fresh_cells = [] if args.no_http else run_fresh(samples=profile["fresh_samples"], whole_samples=profile["fresh_samples"] // 2, log=log)

    from chats import content_repository

    documents_after = content_repository.connection.collection().count_documents({})
    results = [r for rs in sweeps.values() for r in rs]
    ratios = spec_ratios(sweeps, None if args.only else data["storage"])
    checks = calls_checks(sweeps)
    elapsed = time.perf_counter() - started

    print()
    print(f"Branching chat service benchmark ({profile_name}), {machine['cpu']}, {machine['cores']} cores, "
          f"Python {machine['python']}, PostgreSQL {pg}, Redis {redis}, content in mongomock")
    print(f"Chat lengths {', '.join(f'{s:,}' for s in SIZES)} pairs (question 200 B, response 2,000 B), "
          f"bucket size 100; content documents: {data['content_documents']} when measuring starts "
          f"(all sizes seeded first), {documents_after} at the end (the write workloads append).")
    print()
    print(report.latency_table(results))
    print()
    print(report.ratio_table(ratios))
    print()
    print(report.calls_table(checks))
    print()
    print(report.floor_table(results))
    if http_runs:
        print()
        print(report.throughput_table(http_runs, {
            "server_threads": profile["server_threads"], "client_threads": profile["client_threads"],
            "requests": profile["http_requests"]}))
    if fresh_cells:
        print()
        print(fresh_table(fresh_cells))
    print()
    misses = [r["name"] for r in ratios if not r["pass"]]
    print(f"{len(ratios) - len(misses)} of {len(ratios)} ratios met; total time {elapsed:.0f} s")

    path = report.write_json({
        "profile": profile_name,
        "machine": machine,
        "config": {"sizes": SIZES, "page": 50, "bucket_size": 100, "list_chats": LIST_CHATS, **profile},
        "content_documents": {"start": data["content_documents"], "end": documents_after},
        "storage": data["storage"],
        "results": [r.as_dict() for r in results],
        "ratios": ratios,
        "calls": checks,
        "throughput": http_runs,
        "fresh_connection": fresh_cells,
        "seconds": elapsed,
    }, args.output)
    print(f"results written to {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
