"""The production server's configuration: what `make serve` and the Docker
image run (`gunicorn -c python:chatproject.gunicorn`), settings from the
environment.

- `gthread` workers: each open event stream holds one of a worker's
  `WEB_THREADS` threads (not a database connection), and the worker's main
  loop keeps telling the arbiter it is alive, so no stream is cut by the
  worker timeout, however long it runs. A worker takes no more connections
  than it has threads, so a stream never waits behind others in its queue:
  the other workers take it.
- SIGTERM drains (`generation.drain`): a worker takes no new generation,
  lets those it runs finish for up to LLM_DRAIN_SECONDS and stores the rest
  `interrupted`; the arbiter waits that long, and more, before it kills it.
"""

import os
from pathlib import Path

from chatproject.settings.environment import env  # the environment and .env, as Django reads them

wsgi_app = "chatproject.wsgi:application"
bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
if not env("MONGODB_URI", default="").startswith(("mongodb://", "mongodb+srv://")):
    # The in-process content stand-in lives in one process: so must the server.
    workers = 1
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "64"))
worker_connections = threads
timeout = 30
graceful_timeout = int(float(os.environ.get("LLM_DRAIN_SECONDS", "30"))) + 15
keepalive = 5
accesslog = "-"
# The workers' heartbeat files: in memory where there is a tmpfs (a
# container's disk can stall them long enough to look dead).
if Path("/dev/shm").is_dir():
    worker_tmp_dir = "/dev/shm"


def post_worker_init(worker):
    from generation import drain

    drain.install()


def worker_exit(server, worker):
    from generation import drain

    # Django is loaded in a worker that served: let its drain end before the
    # process (and the generations running on its threads) goes.
    drain.wait(timeout=graceful_timeout)
