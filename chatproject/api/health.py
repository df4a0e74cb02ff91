"""`GET /health`: every store the service needs, each probed by a
django-health-check check and reported under the name of what it checks:
`postgres`, `mongodb` and `redis` in production (the documented keys);
`sqlite`, `mongomock` and `locmem` on the embedded defaults of local use.

"degraded" (still 200) when only what the API can live without is down (the
cache: reads just miss it; the language model: clients can still send their
own responses); "down" (503) when an essential store is. The
database and the cache are checked here; an app that owns another store
registers its check in its `AppConfig.ready()` (`register_check`), so this
module imports no app.
"""

import dataclasses
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from health_check.base import HealthCheck
from health_check.checks import Cache, Database
from health_check.views import HealthCheckView

from chatproject.errors import error_body

CACHE_NAMES = {"django_redis.cache.RedisCache": "redis", "django.core.cache.backends.locmem.LocMemCache": "locmem"}


def database_name() -> str:
    return "postgres" if connection.vendor == "postgresql" else connection.vendor


def cache_name() -> str:
    backend = settings.CACHES["default"]["BACKEND"]
    return CACHE_NAMES.get(backend, backend.rsplit(".", 1)[-1].lower())


@dataclasses.dataclass(frozen=True)
class Registered:
    name: Callable[[], str]  # what it checks right now
    check: type[HealthCheck]
    essential: bool  # the API cannot work without it
    up: Callable[[], str] = lambda: "ok"  # what to report when the check passes


# In report order: the database, the stores apps register, the cache.
_DATABASE = Registered(database_name, Database, True)
_CACHE = Registered(cache_name, Cache, False)
_registered: list[Registered] = []


def register_check(
    check: type[HealthCheck], *, name: Callable[[], str], essential: bool, up: Callable[[], str] | None = None
) -> None:
    """Report `check` (a django-health-check check class) under `name()`,
    as `up()` (default "ok") when it passes and "down" when it fails."""
    _registered.append(Registered(name, check, essential, up or (lambda: "ok")))


def registered() -> list[Registered]:
    return [_DATABASE, *_registered, _CACHE]


class HealthView(HealthCheckView):
    http_method_names = ["get", "head"]

    @property
    def checks(self):
        return [entry.check for entry in registered()]

    @classmethod
    def as_view(cls, **initkwargs):
        # No cookie-authenticated writes here: any other method is a 405 in
        # the error shape, never Django's CSRF page.
        return csrf_exempt(super().as_view(**initkwargs))

    def http_method_not_allowed(self, request, *args, **kwargs):
        body = error_body(status=405, code="method_not_allowed", detail=f'Method "{request.method}" not allowed.')
        response = JsonResponse(body, status=405, headers={"Allow": ", ".join(self._allowed_methods())})

        async def respond():
            return response

        return respond()

    async def get(self, request, *args, **kwargs):
        entries = registered()
        await super().get(request, *args, **kwargs)
        checks, status = {}, "ok"
        for entry, result in zip(entries, self.results, strict=True):
            checks[entry.name()] = "down" if result.error else entry.up()
            if result.error:
                status = "down" if entry.essential or status == "down" else "degraded"
        return JsonResponse({"status": status, "checks": checks}, status=503 if status == "down" else 200)
