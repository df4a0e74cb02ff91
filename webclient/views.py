"""The reference chat client: one HTML page (`/app/`) whose JavaScript modules
use only the public API, as any other front end would.

The page carries a Content-Security-Policy that allows scripts, styles,
images and requests from this origin only, and no inline script or style: a
message that slipped through as markup could neither run nor load anything.
"""

import functools

from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ]
)


def content_security_policy(view):
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response

    return wrapped


@require_safe
@content_security_policy
def app(request):
    # The API's root, as routed here (it follows a script prefix, if any).
    api_root = reverse("auth-login").removesuffix("auth/login")
    return render(request, "webclient/app.html", {"api_root": api_root})
