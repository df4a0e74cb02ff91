"""The Content-Security-Policy of every response (django-csp): scripts,
styles, images, fonts and requests from this origin only, no inline script
but one carrying the response's nonce, no frames, no plugins. The access and
refresh tokens the chat client keeps are readable by any script on this
origin: a message that slipped through as markup must not be able to run.

The admin and the API docs also take inline styles (`style` attributes in
Django's and our admin templates, and the `<style>` elements ReDoc and
Swagger UI add as they render), and ReDoc its search worker, which it starts
from a `blob:` address; scripts stay as strict there.
"""

from csp.constants import SELF, UNSAFE_INLINE
from csp.middleware import CSPMiddleware, PolicyParts

INLINE_STYLES = {"style-src": [SELF, UNSAFE_INLINE]}
# Path prefix: the directives it replaces.
EXCEPTIONS = {
    "/admin/": INLINE_STYLES,
    "/docs": INLINE_STYLES,
    "/redoc": {**INLINE_STYLES, "worker-src": [SELF, "blob:"]},
}


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only=False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if parts.replace is None:
            for prefix, replace in EXCEPTIONS.items():
                if request.path_info.startswith(prefix):
                    parts.replace = replace
                    break
        return parts
