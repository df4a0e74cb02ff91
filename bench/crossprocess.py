"""Generation across processes, the figures of SPEC §7's goals for a
deployment: `make bench` runs it after bench/generation.py (alone:
`.venv/bin/python bench/crossprocess.py [--readers N] [--runs N]`).

Two server processes of the service (gunicorn with chatproject/gunicorn.py,
one worker each, production settings) share PostgreSQL `chat_bench`, Redis
database 14, one content store — the suite's MongoDB wire-protocol test
double over mongomock (`chatproject.tests.mongo_wire`), not a MongoDB — and
llama.cpp's server (SmolLM2, one per process, as a deployment's model servers
would be) behind the suite's proxy, all on this machine. Measured:

- **delta lag**: a generation started on A; each delta's arrival at a reader
  on B minus its arrival at A's own reader (the request's stream);
- **stop**: through B, before the first token (the model server holding back
  its answer) and after it: from sending the stop to the proxy seeing the
  model's stream closed;
- **recovery**: A killed (SIGKILL) mid-answer, nobody reading: until B's
  get-chat shows the pair `interrupted`;
- **many readers**: N readers (default 500), half through each process,
  attached to two running generations (one per process); each delta's
  arrival at each reader minus its arrival at the generation's own stream
  (p95), and the memory of the service's processes (RSS).

The clients are this process's (an asyncio loop for the readers), on the
same two cores: their own delays count against the service.
"""

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

QUESTION = "Write a very long story about a lighthouse keeper and the sea."


def log(message):
    print(f"[bench-crossprocess {time.strftime('%H:%M:%S')}] {message}", flush=True)


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def ms(value):
    return round(value * 1000, 1)


# A stream read with asyncio: HTTP/1.0, so the body comes as it is, unchunked.


async def stream_events(port, method, path, token, body=None, on_event=None):
    """Read one event stream; `on_event(arrival, id, name, data)` per event."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    payload = json.dumps(body).encode() if body is not None else b""
    head = (
        f"{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Accept: text/event-stream\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    writer.write(head.encode() + payload)
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        on_event(time.perf_counter(), None, "http", status.decode().strip())
    while (await reader.readline()) not in (b"\r\n", b""):
        pass  # the response's headers
    fields = {}
    try:
        while line := await reader.readline():
            line = line.rstrip(b"\n").decode()
            if line and not line.startswith(":"):
                key, _, value = line.partition(": ")
                fields[key] = value
            elif not line and fields:
                name = fields.get("event")
                on_event(time.perf_counter(), fields.get("id"), name, json.loads(fields["data"]))
                fields = {}
                if name in ("done", "error"):
                    return
    finally:
        writer.close()


class Generation:
    """A generation asked on one process, its own stream's arrival times."""

    def __init__(self):
        self.pair = None
        self.arrivals = {}  # delta offset -> arrival time at the generation's own stream
        self.started = asyncio.Event()

    def on_event(self, arrival, _id, name, data):
        if name == "pair":
            self.pair = data
            self.started.set()
        elif name == "delta":
            self.arrivals[data["offset"]] = arrival


class Follower:
    def __init__(self, generation):
        self.generation, self.attached, self.arrivals, self.names = generation, None, {}, []

    def on_event(self, arrival, _id, name, data):
        self.names.append(name if name != "http" else data)
        if name == "pair":
            self.attached = arrival
        elif name == "delta":
            self.arrivals[data["offset"]] = arrival

    def lags(self):
        """Per delta logged after it attached: its delay behind the origin."""
        origin = self.generation.arrivals
        return [arrival - origin[offset] for offset, arrival in self.arrivals.items()
                if offset in origin and origin[offset] >= (self.attached or 0)]


def rss_mb(pid):
    """Resident memory of a process and its children (the arbiter and its worker), MiB."""
    total = 0
    for candidate in [pid, *children(pid)]:
        try:
            for line in Path(f"/proc/{candidate}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total / 1024


def children(pid):
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().split()[3]) == pid:
                    found.append(int(entry.name))
            except (FileNotFoundError, IndexError, ValueError):
                pass
    return found


def main(argv=None):  # noqa: PLR0915 - one run, in order
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=500)
    parser.add_argument("--runs", type=int, default=10, help="generations measured for lag and each stop")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "crossprocess.json"))
    parser.add_argument("--only-readers", action="store_true", help="measure the many readers only")
    args = parser.parse_args(argv)

    import django

    django.setup()
    import httpx
    from django.conf import settings
    from rest_framework_simplejwt.tokens import AccessToken

    from bench.generation import llama_server
    from bench.run import ensure_database, reset_stores
    from bench.seed import user
    from chatproject.tests import mongo_wire
    from generation.tests.deployment import ServiceProcess
    from generation.tests.model_fixtures import ModelProxy

    ensure_database()
    reset_stores()
    owners = [user(f"crossprocess-{n}") for n in range(args.readers // 50 + 4)]
    tokens = {owner.pk: str(AccessToken.for_user(owner)) for owner in owners}
    results = {}
    with llama_server() as first_url, llama_server() as second_url, mongo_wire.server_process() as mongo_port:
        proxies = {"a": ModelProxy(first_url), "b": ModelProxy(second_url)}
        database = settings.DATABASES["default"]
        env = {
            "PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "chatproject.settings.production", "SECRET_KEY": settings.SECRET_KEY,
            "DEBUG": "false", "ALLOWED_HOSTS": "127.0.0.1,localhost", "SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
            "MONGODB_URI": f"mongodb://127.0.0.1:{mongo_port}/chat_bench",
            "REDIS_URL": settings.BENCH_REDIS_URL, "LLM_PROVIDER": "openai", "LLM_MODEL": "smollm2",
            "LLM_MAX_TOKENS": "400", "LLM_TEMPERATURE": "0", "LLM_CONCURRENCY": "8", "LLM_USER_CONCURRENCY": "8",
            "THROTTLE_USER_RATE": "1000000/minute", "THROTTLE_GENERATE_RATE": "1000000/minute",
            "WEB_CONCURRENCY": "1", "WEB_THREADS": str(args.readers // 2 + 40), "LOG_LEVEL": "WARNING",
            "DB_POOL_SIZE": "10",
        }
        servers = {name: ServiceProcess(name, {**env, "LLM_BASE_URL": proxies[name].url}) for name in ("a", "b")}
        try:
            for server in servers.values():
                server.start()
            log(f"servers on {servers['a'].url} and {servers['b'].url}")
            owner = owners[0]
            token = tokens[owner.pk]

            def new_chat(server, who=owner):
                response = httpx.post(
                    f"{server.url}/api/v1/chats/create-chat", json={"title": "bench", "question": "q", "response": "r"},
                    headers={"Authorization": f"Bearer {tokens[who.pk]}"}, timeout=30,
                )
                response.raise_for_status()
                return response.json()["chat_id"]

            def ask(server, chat_id, loop, who=owner):
                generation = Generation()
                body = {"chat_id": chat_id, "question": QUESTION, "stream": True}
                task = loop.create_task(stream_events(
                    server.port, "POST", "/api/v1/messages/add-message", tokens[who.pk], body, generation.on_event
                ))
                return generation, task

            def follow(server, chat_id, generation, loop, who=owner):
                follower = Follower(generation)
                path = f"/api/v1/messages/stream-message?chat_id={chat_id}&response_id={generation.pair['response_id']}"
                return follower, loop.create_task(stream_events(server.port, "GET", path, tokens[who.pk], None, follower.on_event))

            if not args.only_readers:
                # 1. Delta lag, A to B.
                async def lag_runs():
                    loop, lags = asyncio.get_running_loop(), []
                    proxies["a"].line_delay = 0.02
                    for _ in range(args.runs):
                        chat_id = new_chat(servers["a"])
                        generation, origin = ask(servers["a"], chat_id, loop)
                        await generation.started.wait()
                        follower, reading = follow(servers["b"], chat_id, generation, loop)
                        await asyncio.gather(origin, reading)
                        lags += follower.lags()
                    proxies["a"].reset()
                    return lags

                lags = asyncio.run(lag_runs())
                results["delta_lag_ms"] = {"median": ms(statistics.median(lags)), "p95": ms(percentile(lags, 0.95)), "deltas": len(lags)}
                log(f"delta lag across processes: {results['delta_lag_ms']}")

                # 2. Stop through B, before and after the first token.
                def stop_once(before_first_token):
                    proxy = proxies["a"]
                    proxy.reset()
                    if before_first_token:
                        proxy.mode, proxy.delay = "slow_first_token", 60.0
                    else:
                        proxy.line_delay = 0.05
                    chat_id = new_chat(servers["a"])
                    started = threading.Event()
                    state = {}

                    def read():
                        with httpx.Client(timeout=90) as client, client.stream(
                            "POST", f"{servers['a'].url}/api/v1/messages/add-message",
                            json={"chat_id": chat_id, "question": QUESTION, "stream": True},
                            headers={"Authorization": f"Bearer {token}"},
                        ) as response:
                            deltas = 0
                            for line in response.iter_lines():
                                if line.startswith("data: ") and "response_id" in line and "pair" not in state:
                                    state["pair"] = json.loads(line[6:])
                                if line == "event: delta":
                                    deltas += 1
                                if "pair" in state and (before_first_token or deltas >= 3):
                                    started.set()

                    reader = threading.Thread(target=read, daemon=True)
                    reader.start()
                    started.wait(60)
                    sent = time.perf_counter()
                    response = httpx.post(
                        f"{servers['b'].url}/api/v1/messages/stop-generation",
                        json={"chat_id": chat_id, "response_id": state["pair"]["response_id"]},
                        headers={"Authorization": f"Bearer {token}"}, timeout=30,
                    )
                    closed = proxy.client_disconnected if before_first_token else proxy.upstream_closed_early
                    closed.wait(10)
                    took = time.perf_counter() - sent
                    answered = response.elapsed.total_seconds()
                    reader.join(30)
                    assert response.json()["status"] == "interrupted", response.text
                    return took, answered

                for when, before in (("before_first_token", True), ("after_first_token", False)):
                    stops = [stop_once(before) for _ in range(args.runs)]
                    results[f"stop_{when}_ms"] = {
                        "model_stream_closed_median": ms(statistics.median(s[0] for s in stops)),
                        "answered_median": ms(statistics.median(s[1] for s in stops)),
                    }
                    log(f"stop through the other process, {when}: {results[f'stop_{when}_ms']}")
                proxies["a"].reset()

                # 3. Recovery after SIGKILL, nobody reading.
                proxies["a"].line_delay = 0.1
                chat_id = new_chat(servers["a"])

                async def start_and_leave():
                    generation, origin = ask(servers["a"], chat_id, asyncio.get_running_loop())
                    await generation.started.wait()
                    await asyncio.sleep(1.5)
                    origin.cancel()

                asyncio.run(start_and_leave())
                servers["a"].signal(signal.SIGKILL)
                killed = time.perf_counter()
                servers["a"].wait(10)
                while True:
                    page = httpx.get(f"{servers['b'].url}/api/v1/chats/get-chat", params={"chat_id": chat_id},
                                     headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
                    if page["messages"][-1]["status"] != "generating":
                        break
                    time.sleep(0.1)
                results["recovery_after_sigkill_s"] = round(time.perf_counter() - killed, 2)
                log(f"recovered after SIGKILL: {results['recovery_after_sigkill_s']} s ({page['messages'][-1]['status']})")
                proxies["a"].reset()
                servers["a"].start()

            # 4. Many readers.
            async def many_readers():
                loop = asyncio.get_running_loop()
                for proxy in proxies.values():
                    proxy.line_delay = 0.1
                generations, origins = [], []
                for index, name in enumerate(("a", "b")):
                    who = owners[index + 1]
                    chat_id = new_chat(servers[name], who)
                    generation, origin = ask(servers[name], chat_id, loop, who)
                    await generation.started.wait()
                    generations.append((generation, chat_id, who))
                    origins.append(origin)
                followers, readings = [], []
                for number in range(args.readers):
                    generation, chat_id, who = generations[number % 2]
                    follower, reading = follow(servers["ab"[(number // 2) % 2]], chat_id, generation, loop, who)
                    followers.append(follower)
                    readings.append(reading)
                    if number % 50 == 49:
                        await asyncio.sleep(0.05)
                await asyncio.sleep(5)
                memory = {name: rss_mb(server.process.pid) for name, server in servers.items()}
                await asyncio.gather(*origins, *readings)
                return followers, memory

            followers, memory = asyncio.run(many_readers())
            every = [lag for follower in followers for lag in follower.lags()]
            complete = sum(1 for follower in followers if follower.arrivals)
            endings = {}
            for follower in followers:
                key = (follower.names[:1] + follower.names[-1:]) if follower.names else ["nothing"]
                endings[" > ".join(key)] = endings.get(" > ".join(key), 0) + 1
            log(f"how the readers' streams went (first > last event): {endings}")
            results["readers"] = {
                "readers": args.readers, "with_deltas": complete, "deltas": len(every),
                "lag_ms_median": ms(statistics.median(every)), "lag_ms_p95": ms(percentile(every, 0.95)),
                "rss_mib": {name: round(value) for name, value in memory.items()},
                "rss_mib_total": round(sum(memory.values())),
            }
            log(f"{args.readers} readers: {results['readers']}")
        finally:
            for server in servers.values():
                server.stop()
            for proxy in proxies.values():
                proxy.stop()

    rows = []
    if "delta_lag_ms" in results:
        rows += [
            ("delta lag on the other process, median (ms)", results["delta_lag_ms"]["median"], 50),
            ("delta lag on the other process, p95 (ms)", results["delta_lag_ms"]["p95"], 100),
            ("stop before the first token, median (ms)",
             results["stop_before_first_token_ms"]["model_stream_closed_median"], 100),
            ("stop after the first token, median (ms)",
             results["stop_after_first_token_ms"]["model_stream_closed_median"], 100),
            ("recovery after SIGKILL, nobody reading (s)", results["recovery_after_sigkill_s"], 15),
        ]
    rows += [
        (f"{args.readers} readers: delta lag p95 (ms)", results["readers"]["lag_ms_p95"], 100),
        (f"{args.readers} readers: servers' memory (MiB)", results["readers"]["rss_mib_total"], 1023),
    ]
    print(f"\n{'across processes':<50}{'value':>10}  {'target':<10}mark")
    print("-" * 80)
    for name, value, limit in rows:
        print(f"{name:<50}{value:>10}  {'<= ' + str(limit):<10}{'pass' if value <= limit else 'MISS'}")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
