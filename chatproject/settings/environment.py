"""The one place configuration is read from: the process environment, plus a
`.env` file at the repository root when there is one (`ENV_FILE` names
another). An empty value in the file (`SECRET_KEY=`) means "the default"."""

import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# Real environment variables win over the file, so CI and docker can override it.
environ.Env.read_env(os.environ.get("ENV_FILE") or BASE_DIR / ".env", overwrite=False)


def env_or_default(name, default):
    """The variable's value, or `default` when it is unset or empty."""
    return env(name, default="") or default
