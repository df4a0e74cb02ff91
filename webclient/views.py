"""The reference chat client: one HTML page (`/app/`) whose JavaScript modules
use only the public API, as any other front end would.

The page carries the site's Content-Security-Policy (chatproject/csp.py):
scripts, styles, images and requests from this origin only, and no inline
script or style: a message that slipped through as markup could neither run
nor load anything.
"""

from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe


@require_safe
def app(request):
    # The API's root, as routed here (it follows a script prefix, if any).
    api_root = reverse("auth-login").removesuffix("auth/login")
    return render(request, "webclient/app.html", {"api_root": api_root})
