"""Production settings and the checks CI runs on every change."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "chatproject.settings.production",
    "SECRET_KEY": "a-production-secret-that-is-long-and-random-enough-0123456789abcdef",
    "DEBUG": "false",
    "ALLOWED_HOSTS": "chat.example.com",
    "DATABASE_URL": "postgres://chat:chat@db.example.com:5432/chat",
    "MONGODB_URI": "mongodb://mongo.example.com:27017/chat",
    "REDIS_URL": "redis://redis.example.com:6379/0",
}


def manage(*args, **env_changes):
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    env.update({k: v for k, v in {**PRODUCTION_ENV, **env_changes}.items() if v is not None})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_deploy_check_passes_with_production_values():
    result = manage("check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY must be set in production."),
        ({"DEBUG": "true"}, "DEBUG must be off in production."),
        ({"MONGODB_URI": "mongomock://localhost/chat"}, "MONGODB_URI must name a MongoDB server"),
        ({"DATABASE_URL": None}, "DATABASE_URL must be set in production."),
    ],
)
def test_production_refuses_to_start_without_its_configuration(changes, message):
    result = manage("check", **changes)

    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.django_db
def test_models_and_migrations_agree():
    # Exits non-zero (SystemExit) when a model change has no migration.
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
