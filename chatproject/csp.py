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

from http import HTTPStatus

from csp.constants import HEADER, HEADER_REPORT_ONLY, SELF, UNSAFE_INLINE
from csp.middleware import CheckableLazyObject, CSPMiddleware, PolicyParts
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

INLINE_STYLES = {"style-src": [SELF, UNSAFE_INLINE]}
# Path prefix: the directives it replaces.
EXCEPTIONS = {
    "/admin/": INLINE_STYLES,
    "/docs": INLINE_STYLES,
    "/redoc": {**INLINE_STYLES, "worker-src": [SELF, "blob:"]},
}

# What a view's decorators (`csp_update`, `csp_exempt` …) set on its response.
_RESPONSE_OVERRIDES = tuple(
    f"_csp_{name}{suffix}" for name in ("config", "update", "replace", "exempt") for suffix in ("", "_ro")
)

# The two headers for a response whose policy is the settings' as they are
# (no nonce, no decorator), by the path prefix that replaces directives: the
# same text every time, which django-csp rebuilt from the settings on every
# response (a tenth of the cost of a small API response here).
_plain_headers = {}


@receiver(setting_changed)
def _forget_plain_headers(*, setting, **kwargs):
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _plain_headers.clear()


def _replaced_by(path):
    for prefix, replace in EXCEPTIONS.items():
        if path.startswith(prefix):
            return prefix, replace
    return None, None


def _plain_policies(replace):
    """(the policy, the report-only policy) for a response as it is, or False
    when a setting excludes paths (django-csp then decides)."""
    settings_policies = (
        getattr(settings, "CONTENT_SECURITY_POLICY", None) or {},
        getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None) or {},
    )
    if any(policy.get("EXCLUDE_URL_PREFIXES") for policy in settings_policies):
        return False
    return build_policy(replace=replace), build_policy(replace=replace, report_only=True)


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only=False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if parts.replace is None:
            parts.replace = _replaced_by(request.path_info)[1]
        return parts

    def process_response(self, request, response):
        # A response that used its nonce or that a decorator changed, a debug
        # page, or settings that exclude paths: django-csp decides, as it is.
        if (
            getattr(request, "_csp_nonce", None) is not None
            or any(hasattr(response, name) for name in _RESPONSE_OVERRIDES)
            or (settings.DEBUG and response.status_code in (HTTPStatus.NOT_FOUND, HTTPStatus.INTERNAL_SERVER_ERROR))
        ):
            return super().process_response(request, response)
        prefix, replace = _replaced_by(request.path_info)
        headers = _plain_headers.get(prefix)
        if headers is None:
            headers = _plain_headers[prefix] = _plain_policies(replace)
        if headers is False:
            return super().process_response(request, response)
        for header, policy in zip((HEADER, HEADER_REPORT_ONLY), headers):
            if policy and header not in response:
                response[header] = policy
        # As django-csp does: from here on the nonce cannot reach the header,
        # and asking for it is an error, not a nonce nobody allowed.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
