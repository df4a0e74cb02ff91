"""`GET /health`: the database, the content store and the cache, each probed by
a django-health-check check and reported under the name of what it checks:
`postgres`, `mongodb` and `redis` in production (the documented keys); `sqlite`,
`mongomock` and `locmem` on the embedded defaults of local use.

"degraded" (still 200) when only the cache is down, since the API keeps working
without it; "down" (503) when the database or the content store is.
"""

import dataclasses

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from health_check.base import HealthCheck
from health_check.checks import Cache, Database
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

from chats import content_repository

from .errors import error_body

CACHE_NAMES = {"django_redis.cache.RedisCache": "redis", "django.core.cache.backends.locmem.LocMemCache": "locmem"}


@dataclasses.dataclass
class MongoDB(HealthCheck):
    def run(self):
        try:
            content_repository.ping()
        except content_repository.ContentStoreUnavailable as exc:
            raise ServiceUnavailable("MongoDB is unreachable") from exc


def check_names():
    """What each check probes right now, in the order of `HealthView.checks`."""
    database = "postgres" if connection.vendor == "postgresql" else connection.vendor
    content = "mongomock" if content_repository.is_ephemeral() else "mongodb"
    backend = settings.CACHES["default"]["BACKEND"]
    cache = CACHE_NAMES.get(backend, backend.rsplit(".", 1)[-1].lower())
    return database, content, cache


# Whether the API can live without each store, in the same order.
ESSENTIAL = (True, True, False)


class HealthView(HealthCheckView):
    checks = [Database, MongoDB, Cache]
    http_method_names = ["get", "head"]

    @classmethod
    def as_view(cls, **initkwargs):
        # No cookie-authenticated writes here: any other method is a 405 in
        # the error shape, never Django's CSRF page.
        return csrf_exempt(super().as_view(**initkwargs))

    def http_method_not_allowed(self, request, *args, **kwargs):
        body = error_body(
            error_type="client_error", code="method_not_allowed", detail=f'Method "{request.method}" not allowed.'
        )
        response = JsonResponse(body, status=405, headers={"Allow": ", ".join(self._allowed_methods())})

        async def respond():
            return response

        return respond()

    async def get(self, request, *args, **kwargs):
        await super().get(request, *args, **kwargs)
        checks, status = {}, "ok"
        for name, essential, result in zip(check_names(), ESSENTIAL, self.results, strict=True):
            checks[name] = "down" if result.error else "ok"
            if result.error:
                status = "down" if essential or status == "down" else "degraded"
        return JsonResponse({"status": status, "checks": checks}, status=503 if status == "down" else 200)
