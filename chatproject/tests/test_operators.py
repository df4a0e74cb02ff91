"""An operator's first hour: the example configuration as copied, `make run`
and `make test` saying what they use, `/health` naming what it checks, and the
container's health check and migrations."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.http.request import validate_host

from generation.tests.model_fixtures import bundled_model

ROOT = Path(__file__).resolve().parents[2]
# Variables a developer's shell or CI may set, which would hide what a file does.
CONFIG_VARIABLES = {
    "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "DATABASE_URL", "MONGODB_URI", "REDIS_URL",
    "REQUIRE_REAL_SERVICES", "ENV_FILE", "TEST_ADOPT_LOCAL_SERVICES", "NUM_PROXIES", "HOST", "PORT",
}


def clean_env(**changes):
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARIABLES}
    env.update(changes)
    return env


def python(code, **env_changes):
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean_env(**env_changes), capture_output=True, text=True, timeout=120
    )


SHOW_SETTINGS = (
    "import os, django; django.setup(); from django.conf import settings as s; "
    "print(os.environ.get('CONTENT_BUCKET_BYTES'), bool(s.SECRET_KEY), s.DATABASES['default']['ENGINE'], "
    "s.CACHES['default']['BACKEND'])"
)


# --- the embedded defaults, as `make run` serves them --------------------------

FIRST_QUESTION = """
import django; django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken
from accounts.models import User
from generation.tests.model_fixtures import FAST_MAX_TOKENS
from django.conf import settings
settings.LLM_MAX_TOKENS = FAST_MAX_TOKENS
user = User.objects.create_user(username="ada", password="correct-horse-battery")
client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
answer = client.post("/api/v1/chats/create-chat", {"question": "Hi!"}, content_type="application/json")
print(answer.status_code, answer.json()["messages"][0]["status"])
"""


def test_a_newcomers_first_question_is_answered_on_the_embedded_defaults(tmp_path):
    """SQLite, local memory, no Redis, mongomock and the model in the process:
    what `make run` serves with nothing configured."""
    bundled_model()

    result = python(
        FIRST_QUESTION, DJANGO_SETTINGS_MODULE="chatproject.settings.local",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", ENV_FILE=str(tmp_path / "none.env"),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["201", "complete"]


# --- .env.example as copied --------------------------------------------------


def test_env_example_works_as_copied_for_make_run():
    result = python(SHOW_SETTINGS, ENV_FILE=str(ROOT / ".env.example"), DJANGO_SETTINGS_MODULE="chatproject.settings.local")

    assert result.returncode == 0, result.stderr
    # The file was read (it names every variable) and leaves the embedded defaults.
    assert result.stdout.split() == [
        "4194304", "True", "django.db.backends.sqlite3", "django.core.cache.backends.locmem.LocMemCache"
    ]


def test_env_example_lets_manage_py_start():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT, env=clean_env(ENV_FILE=str(ROOT / ".env.example")), capture_output=True, text=True, timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.requires_postgres
@pytest.mark.requires_redis
def test_env_example_does_not_move_the_suite_to_sqlite():
    result = python(SHOW_SETTINGS, ENV_FILE=str(ROOT / ".env.example"), DJANGO_SETTINGS_MODULE="chatproject.settings.test")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[2:] == ["django.db.backends.postgresql", "django_redis.cache.RedisCache"]


def test_env_example_lists_the_new_variables():
    names = {
        line.split("=", 1)[0].lstrip("# ").strip()
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("# e.g.")
    }

    assert {"NUM_PROXIES", "SECRET_KEY", "DATABASE_URL", "MONGODB_URI", "REDIS_URL"} <= names


# --- make run and make test --------------------------------------------------


def make_dry_run(*args):
    return subprocess.run(
        ["make", "-n", *args], cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=60
    )


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_run_binds_loopback_by_default():
    result = make_dry_run("run")

    assert result.returncode == 0, result.stderr
    assert "manage.py runserver 127.0.0.1:8000" in result.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_run_binds_another_address_when_asked():
    result = make_dry_run("run", "HOST=0.0.0.0", "PORT=8123")

    assert result.returncode == 0, result.stderr
    assert "manage.py runserver 0.0.0.0:8123" in result.stdout


def test_make_test_says_which_stores_it_uses():
    import conftest

    header = "\n".join(conftest.pytest_report_header(None))
    database = settings.DATABASES["default"]

    if settings.TEST_USES_POSTGRES:
        assert f"database: PostgreSQL {database['HOST']}:{database['PORT']}" in header
        assert f"database {database.get('TEST', {}).get('NAME') or 'test_' + database['NAME']}" in header
    else:
        assert "database: SQLite in memory" in header
    if settings.TEST_USES_REDIS:
        assert f"cache: Redis {settings.TEST_REDIS_URL} (flushed before and after every test" in header
    else:
        assert "cache: local memory" in header
    assert "content: mongomock (in process)" in header


def test_test_settings_adopt_no_local_server_when_told_not_to():
    result = python(SHOW_SETTINGS, DJANGO_SETTINGS_MODULE="chatproject.settings.test", TEST_ADOPT_LOCAL_SERVICES="0",
                    ENV_FILE="/dev/null")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[2:] == ["django.db.backends.sqlite3", "django.core.cache.backends.locmem.LocMemCache"]


# --- /health names what it checks ------------------------------------------


def test_health_on_the_embedded_defaults_names_sqlite_and_the_stand_ins(tmp_path):
    code = (
        "import django; django.setup(); from django.test import Client; "
        "r = Client().get('/health'); print(r.status_code, sorted(r.json()['checks'].items()))"
    )

    result = python(
        code,
        ENV_FILE="/dev/null",
        DJANGO_SETTINGS_MODULE="chatproject.settings.local",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        ALLOWED_HOSTS="testserver",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == (
        "200 [('locmem', 'ok'), ('model', 'ok'), ('mongomock', 'ok'), ('sqlite', 'ok')]"
    )


# --- the container ------------------------------------------------------------


def load_healthcheck():
    namespace = {"__name__": "healthcheck"}
    exec((ROOT / "docker" / "healthcheck.py").read_text(), namespace)
    return namespace


@pytest.mark.parametrize(
    ("allowed_hosts", "host"),
    [
        ("chat.example.com", "chat.example.com"),
        ("chat.example.com,api.example.com", "chat.example.com"),
        (".example.com", "example.com"),
        ("*", "localhost"),
        ("", "localhost"),
        (" [::1] ", "[::1]"),
    ],
)
def test_container_health_check_sends_an_allowed_host(allowed_hosts, host):
    healthcheck = load_healthcheck()

    chosen = healthcheck["host_header"](allowed_hosts)

    assert chosen == host
    hosts = [h.strip() for h in allowed_hosts.split(",") if h.strip()]
    if hosts:
        assert validate_host(chosen, hosts)


def test_production_answers_health_with_the_host_the_check_sends(client, settings, db):
    settings.ALLOWED_HOSTS = ["chat.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^health$"]
    host = load_healthcheck()["host_header"]("chat.example.com")

    assert client.get("/health").status_code == 400  # what Docker saw before
    assert client.get("/health", headers={"host": host}).status_code == 200


def test_dockerfile_health_check_runs_the_script():
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()

    assert 'CMD ["python", "docker/healthcheck.py"]' in dockerfile


def test_replicas_do_not_migrate_on_start():
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    entrypoint = (ROOT / "docker" / "entrypoint.sh").read_text()

    migrate = compose["services"]["migrate"]
    assert migrate["command"] == ["migrate"]
    assert migrate.get("restart", "no") == "no"
    for app in ("app-1", "app-2"):
        assert compose["services"][app]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    # The app's own start runs no migration; `migrate` is a command of its own.
    commands = [line.strip() for line in entrypoint.splitlines() if "manage.py migrate" in line]
    assert commands == ["python manage.py migrate --noinput"]
    assert 'if [ "${1:-}" = "migrate" ]; then' in entrypoint


def compose_service(name):
    return yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())["services"][name]


def test_compose_answers_with_a_model_server_of_its_own_behind_one_port():
    """Two app replicas behind one port, a real OpenAI-compatible model server
    with its model on a volume, every LLM_* setting passed through."""
    from chatproject.settings import llm

    one, two, proxy, model = (compose_service(name) for name in ("app-1", "app-2", "proxy", "model"))
    nginx = (ROOT / "docker" / "nginx.conf").read_text()

    assert one == two
    assert proxy["ports"] == ["8000:8000"]
    assert "server app-1:8000" in nginx and "server app-2:8000" in nginx
    assert "proxy_buffering off;" in nginx
    assert model["image"] == "ghcr.io/ggml-org/llama.cpp:server"
    assert "model-data:/models:ro" in model["volumes"]
    assert one["depends_on"]["model"] == {"condition": "service_healthy"}
    environment = {entry.split("=", 1)[0]: entry.partition("=")[2] for entry in one["environment"]}
    settings_names = {name for name in vars(llm) if name.startswith("LLM_")}
    # All but the local provider's own (the image carries no local model).
    assert settings_names - set(environment) == {"LLM_MODEL_PATH", "LLM_THREADS", "LLM_WORKERS"}
    assert environment["LLM_BASE_URL"] == "${LLM_BASE_URL:-http://model:8080/v1}"
    assert environment["LLM_PROVIDER"] == "${LLM_PROVIDER:-openai}"


def test_the_image_serves_streams_longer_than_any_worker_timeout_and_drains():
    import runpy

    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    config = runpy.run_path(str(ROOT / "chatproject" / "gunicorn.py"))

    assert 'CMD ["gunicorn", "-c", "python:chatproject.gunicorn"]' in dockerfile
    # gthread workers tell the arbiter they are alive from their main loop
    # while threads stream: the default sync worker would be killed after
    # `timeout` seconds of any one stream.
    assert config["worker_class"] == "gthread"
    assert config["worker_connections"] == config["threads"]
    assert config["graceful_timeout"] > settings.LLM_DRAIN_SECONDS
    grace = compose_service("app-1")["stop_grace_period"]
    assert int(grace.rstrip("s")) > config["graceful_timeout"]


def test_the_production_server_runs_one_process_on_the_in_process_content_store(monkeypatch):
    import runpy

    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    monkeypatch.setenv("MONGODB_URI", "mongodb://db.example.com:27017/chat")
    assert runpy.run_path(str(ROOT / "chatproject" / "gunicorn.py"))["workers"] == 4
    monkeypatch.setenv("MONGODB_URI", "mongomock://localhost/chat")
    assert runpy.run_path(str(ROOT / "chatproject" / "gunicorn.py"))["workers"] == 1
