#!/bin/sh
# Container entrypoint: apply migrations and MongoDB indexes, then run CMD.
set -eu

cd /app

python manage.py migrate --noinput
python manage.py ensure_indexes

exec "$@"
