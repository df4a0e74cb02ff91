"""The few HTML pages outside the API and the admin: the site root, which
links the docs, the admin and /health, and the icon browsers ask for."""

from django.shortcuts import redirect
from django.templatetags.static import static
from django.views.decorators.http import require_safe
from django.views.generic import TemplateView

ICON = "drf_spectacular_sidecar/swagger-ui-dist/favicon-32x32.png"

home = TemplateView.as_view(template_name="landing.html", http_method_names=["get", "head"])


@require_safe
def favicon(request):
    # Resolved per request: with hashed static names (production) the manifest
    # is only read once collectstatic has run.
    return redirect(static(ICON), permanent=False)
