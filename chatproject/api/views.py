"""Django-level error pages: JSON in the API's error shape under /api/ and for
/health, so no client ever parses an HTML page."""

from django.http import JsonResponse
from django.views import defaults

_JSON_PREFIXES = ("/api/", "/health")


def error_body(*, error_type, code, detail, attr=None):
    """The error shape, for the few responses made outside DRF."""
    return {"type": error_type, "errors": [{"code": code, "detail": detail, "attr": attr}]}


def _wants_json(request):
    return request.path.startswith(_JSON_PREFIXES)


def not_found(request, exception=None):
    if not _wants_json(request):
        return defaults.page_not_found(request, exception)
    body = error_body(error_type="client_error", code="not_found", detail="Not found.")
    return JsonResponse(body, status=404)


def bad_request(request, exception=None):
    if not _wants_json(request):
        return defaults.bad_request(request, exception)
    body = error_body(error_type="client_error", code="bad_request", detail="Bad request.")
    return JsonResponse(body, status=400)


def server_error(request):
    if not _wants_json(request):
        return defaults.server_error(request)
    body = error_body(error_type="server_error", code="error", detail="A server error occurred.")
    return JsonResponse(body, status=500)
