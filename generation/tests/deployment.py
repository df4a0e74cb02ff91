"""A deployment of the service in miniature, for the tests that cross
processes: server processes of the service (gunicorn with the production
configuration, as `make serve` and the image run it) sharing the suite's
PostgreSQL database, its Redis, one content store — the suite's MongoDB
wire-protocol test double (`chatproject.tests.mongo_wire`), not a MongoDB —
and llama.cpp's server behind the suite's proxy (`model_fixtures.ModelProxy`).

Fixtures (registered with the suite's plugins):
- `deployment` (session): `.processes` ("a", "b"), each a `ServiceProcess`;
  `.proxy`, the model proxy they all talk to; `.content_uri`.
- `deployed`: for one test, with the database rows committed (the processes
  read them): the deployment with its proxy reset, every process running,
  and this process's content repository on the shared store.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection

from chatproject.tests import mongo_wire
from chats import content_repository
from chats.tests.stores import drop_all_content

from .model_fixtures import ModelProxy, free_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60


class ServiceProcess:
    """One server process of the service (a gunicorn arbiter and its worker)."""

    def __init__(self, name: str, env: dict):
        self.name, self.env = name, env
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log_path = Path(tempfile.mkdtemp(prefix=f"service-{name}-")) / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, **overrides) -> None:
        env = {**self.env, **{k: str(v) for k, v in overrides.items()}, "HOST": "127.0.0.1", "PORT": str(self.port)}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "python:chatproject.gunicorn"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"service {self.name} exited with {self.process.returncode}:\n{self.log()[-4000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code in (200, 503):
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"service {self.name} did not answer within {START_TIMEOUT} s:\n{self.log()[-4000:]}")
            time.sleep(0.1)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: int) -> None:
        """To the whole process group (the arbiter and its worker), as
        `kill -9` of a container or a host's power cut would."""
        os.killpg(self.process.pid, signum)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.running:
            self.signal(signal.SIGKILL)
            self.process.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class Deployment:
    def __init__(self, proxy: ModelProxy, content_uri: str, database_name: str):
        self.proxy, self.content_uri = proxy, content_uri
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "chatproject.settings.production",
            "SECRET_KEY": settings.SECRET_KEY,  # the suite's, so its tokens are valid there
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": _database_url(database_name),
            "MONGODB_URI": content_uri,
            "REDIS_URL": settings.TEST_REDIS_URL,
            "LLM_PROVIDER": "openai",
            "LLM_BASE_URL": proxy.url,
            "LLM_MODEL": "smollm2",
            "LLM_API_KEY": "",
            "LLM_MAX_TOKENS": "64",
            "LLM_TIMEOUT": "30",
            "LLM_CONCURRENCY": "2",
            "LLM_USER_CONCURRENCY": "1",
            "LLM_QUEUE_SECONDS": "1",
            "LLM_DRAIN_SECONDS": "10",
            "SSE_KEEP_ALIVE_SECONDS": "1",
            "THROTTLE_USER_RATE": "100000/minute",
            "THROTTLE_GENERATE_RATE": "100000/minute",
            "WEB_CONCURRENCY": "1",
            "WEB_THREADS": "32",
            # Few, so that a stream holding one would show.
            "DB_POOL_SIZE": "3",
            "LOG_LEVEL": "INFO",
        }
        self.processes = {name: ServiceProcess(name, env) for name in ("a", "b")}

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.processes[name]

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()


def _database_url(name: str) -> str:
    database = connection.settings_dict
    password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    return f"postgres://{database['USER']}{password}@{database['HOST']}:{database['PORT']}/{name}"


# Per module, not per session: its server processes share the suite's
# database, and their reapers (every 2 s) end every run whose heartbeat is
# old — including the dead runs that later transactional tests commit on
# purpose, which a server kept running would end first (without the content,
# which it cannot see): those tests failed about once in five full runs.
@pytest.fixture(scope="module")
def deployment(django_db_setup, django_db_blocker, llama_server):
    if not (settings.TEST_USES_POSTGRES and settings.TEST_USES_REDIS):
        pytest.skip("a deployment needs PostgreSQL and Redis")
    with django_db_blocker.unblock():
        database_name = connection.settings_dict["NAME"]
    proxy = ModelProxy(str(llama_server))
    with mongo_wire.server_process() as port:
        deployed = Deployment(proxy, f"mongodb://127.0.0.1:{port}/chat_test", database_name)
        try:
            yield deployed
        finally:
            deployed.stop()
            proxy.stop()


@pytest.fixture
def deployed(deployment, transactional_db):
    deployment.proxy.reset()
    for process in deployment.processes.values():
        if not process.running:
            process.start()
    content_repository.connect(deployment.content_uri)
    drop_all_content()
    try:
        yield deployment
    finally:
        content_repository.connect(settings.MONGODB_URI)
