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


def test_token_lifetimes_and_rates_are_read_from_the_environment():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SIMPLE_JWT['ACCESS_TOKEN_LIFETIME'], s.SIMPLE_JWT['REFRESH_TOKEN_LIFETIME'], "
        "s.THROTTLE_USER_RATE, s.THROTTLE_AUTH_RATE, s.MAX_MESSAGE_CHARS, s.CONTENT_BUCKET_SIZE, s.CONTENT_BUCKET_BYTES)"
    )
    env = {
        **{k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV},
        "DJANGO_SETTINGS_MODULE": "chatproject.settings.local",
        "ACCESS_TOKEN_MINUTES": "3",
        "REFRESH_TOKEN_DAYS": "2",
        "THROTTLE_USER_RATE": "7/second",
        "THROTTLE_AUTH_RATE": "2/hour",
        "MAX_MESSAGE_CHARS": "500",
        "CONTENT_BUCKET_SIZE": "10",
        "CONTENT_BUCKET_BYTES": "65536",
    }

    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0:03:00", "2", "days,", "0:00:00", "7/second", "2/hour", "500", "10", "65536"]
