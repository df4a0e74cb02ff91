"""`GET /health`: every store the service needs, each probed by a
django-health-check check, answered as
`{"status": "ok" | "degraded" | "down", "checks": {name: "ok" | "down"}}`.

"degraded" (still 200) when only a store the API can live without is down
(Redis: reads just miss the cache); "down" (503) when an essential one is.
The database and the cache are checked here; an app that owns another store
registers its check in its `AppConfig.ready()` (`register_check`), so this
module imports no app.
"""

from django.http import JsonResponse
from health_check.checks import Cache, Database
from health_check.views import HealthCheckView

# name -> (django-health-check check class, essential), in report order.
CHECKS = {"postgres": (Database, True), "redis": (Cache, False)}


def register_check(name, check, *, essential):
    """Report `check` (a django-health-check check class) under `name`."""
    CHECKS[name] = (check, essential)


class HealthView(HealthCheckView):
    @property
    def checks(self):
        return [check for check, _ in CHECKS.values()]

    async def get(self, request, *args, **kwargs):
        registered = list(CHECKS.items())
        await super().get(request, *args, **kwargs)
        checks, status = {}, "ok"
        for (name, (_, essential)), result in zip(registered, self.results, strict=True):
            checks[name] = "down" if result.error else "ok"
            if result.error:
                status = "down" if essential or status == "down" else "degraded"
        return JsonResponse({"status": status, "checks": checks}, status=503 if status == "down" else 200)
