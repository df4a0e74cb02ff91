#!/bin/sh
# Container entrypoint.
#   docker-entrypoint.sh migrate   apply migrations and MongoDB indexes, then exit
#                                  (a one-off step: the compose service `migrate`)
#   docker-entrypoint.sh CMD...    run CMD (gunicorn); migrates nothing, so any
#                                  number of replicas can start at once
set -eu

cd /app

if [ "${1:-}" = "migrate" ]; then
  python manage.py migrate --noinput
  python manage.py ensure_indexes
  exit 0
fi

exec "$@"
