"""`GET /health`: PostgreSQL, MongoDB and Redis, each probed by a
django-health-check check, answered in the shape of SPEC §4.

"degraded" (still 200) when only Redis is down, since the API keeps working
without its cache; "down" (503) when PostgreSQL or MongoDB is.
"""

import dataclasses

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from health_check.base import HealthCheck
from health_check.checks import Cache, Database
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

from chats import content_repository

from .errors import error_body


@dataclasses.dataclass
class MongoDB(HealthCheck):
    def run(self):
        try:
            content_repository.ping()
        except content_repository.ContentStoreUnavailable as exc:
            raise ServiceUnavailable("MongoDB is unreachable") from exc


# The name each store is reported under, and whether the API can live without it.
CHECKS = {"postgres": (Database, True), "mongodb": (MongoDB, True), "redis": (Cache, False)}


class HealthView(HealthCheckView):
    checks = [check for check, _ in CHECKS.values()]
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
        for name, (_, essential), result in zip(CHECKS, CHECKS.values(), self.results, strict=True):
            checks[name] = "down" if result.error else "ok"
            if result.error:
                status = "down" if essential or status == "down" else "degraded"
        return JsonResponse({"status": status, "checks": checks}, status=503 if status == "down" else 200)
