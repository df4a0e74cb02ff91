"""Django-level error pages: JSON in the API's error shape under /api/ and for
/health, so no client ever parses an HTML page."""

from django.http import JsonResponse
from django.urls import Resolver404, resolve
from django.views import defaults
from django.views.csrf import csrf_failure as html_csrf_failure
from django.views.decorators.csrf import csrf_exempt

from chatproject.errors import error_body

_JSON_PREFIXES = ("/api/", "/health")


def _wants_json(request):
    return request.path.startswith(_JSON_PREFIXES)


def _route_without_trailing_slash(path):
    """The real route a path with a stray trailing slash was meant for, if any."""
    if not path.endswith("/") or path == "/":
        return None
    try:
        match = resolve(path.rstrip("/"))
    except Resolver404:
        return None
    return None if match.func is not_found else path.rstrip("/")


# Exempt: an unknown URL takes no write, so a POST to one is a 404, not a CSRF
# failure (the API authenticates by token, never by cookie).
@csrf_exempt
def not_found(request, exception=None):
    if not _wants_json(request):
        return defaults.page_not_found(request, exception)
    detail = "Not found."
    intended = _route_without_trailing_slash(request.path_info)
    if intended:
        detail = f"Not found. Did you mean {intended} (no trailing slash)?"
    return JsonResponse(error_body(status=404, code="not_found", detail=detail), status=404)


def bad_request(request, exception=None):
    if not _wants_json(request):
        return defaults.bad_request(request, exception)
    body = error_body(status=400, code="bad_request", detail="Bad request.")
    return JsonResponse(body, status=400)


def server_error(request):
    if not _wants_json(request):
        return defaults.server_error(request)
    body = error_body(status=500, code="error", detail="A server error occurred.")
    return JsonResponse(body, status=500)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: the admin keeps Django's page; the API answers JSON."""
    if not _wants_json(request):
        return html_csrf_failure(request, reason)
    body = error_body(status=403, code="csrf_failed", detail=f"CSRF check failed: {reason}")
    return JsonResponse(body, status=403)
