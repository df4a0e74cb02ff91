"""Throughput over HTTP on loopback: the service served by gunicorn (one
process, as mongomock requires, with threads) and a small thread-pool load
generator on `http.client` that sends a fixed number of requests and stops.

The server is a separate process, so its content store (mongomock) starts
empty: its chats and pairs are written over HTTP before the timed runs.
PostgreSQL and Redis are shared with the benchmark process.
"""

import contextlib
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(*, threads, port=None, worker_class="gthread"):
    """gunicorn, one worker with `threads` threads (`sync`: one request at a
    time), on 127.0.0.1 only."""
    port = port or free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONPATH": str(ROOT)}
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "chatproject.wsgi:application",
        "--bind", f"127.0.0.1:{port}",
        "--workers", "1",
        "--threads", str(threads),
        "--worker-class", worker_class,
        "--keep-alive", "30",
        "--log-level", "warning",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {process.stderr.read().decode()[-2000:]}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/bench/constant")
                connection.getresponse().read()
                connection.close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not answer within 60 s") from None
                time.sleep(0.2)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Client:
    """One keep-alive connection with a bearer token."""

    def __init__(self, port, token):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def request(self, method, path, body=None):
        payload = None if body is None else json.dumps(body)
        self.connection.request(method, path, body=payload, headers=self.headers)
        response = self.connection.getresponse()
        data = response.read()
        return response.status, data

    def json(self, method, path, body=None, expect=200):
        status, data = self.request(method, path, body)
        if status != expect:
            raise RuntimeError(f"{method} {path}: HTTP {status}: {data[:500]!r}")
        return json.loads(data)

    def close(self):
        self.connection.close()


def load(*, clients, requests, send):
    """Send `requests` requests from one thread per client (each client its own
    keep-alive connection); `send(client, index)` sends one request and returns
    its HTTP status. Returns requests per second and latencies."""
    concurrency = len(clients)
    remaining = [requests]
    lock = threading.Lock()
    latencies, failures = [], []
    start_gate = threading.Barrier(concurrency + 1)

    def worker(index, client):
        start_gate.wait()
        while True:
            with lock:
                if remaining[0] == 0:
                    return
                remaining[0] -= 1
            started = time.perf_counter()
            status = send(client, index)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if status >= 400:
                    failures.append(status)

    threads = [threading.Thread(target=worker, args=(i, c), daemon=True) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    start_gate.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    for client in clients:
        client.close()
    if failures:
        raise RuntimeError(f"{len(failures)} failed requests, e.g. HTTP {failures[0]}")
    ordered = sorted(latencies)
    return {
        "requests": requests,
        "concurrency": concurrency,
        "seconds": wall,
        "rps": requests / wall,
        "median_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[round(0.95 * (len(ordered) - 1))] * 1000,
    }
