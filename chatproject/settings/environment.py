"""The one place configuration is read from: the process environment, plus a
`.env` file at the repository root when there is one."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# Real environment variables win over the file, so CI and docker can override it.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
