"""The Content-Security-Policy header of each kind of response: the one kept
ready for responses that leave the policy as it is must be the one django-csp
builds, and what changes the policy (a nonce used, a decorator, a path's
exceptions, the settings) must still change it."""

from http import HTTPStatus

import pytest
from csp.decorators import csp_exempt, csp_update
from csp.middleware import CSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from chatproject import csp
from chatproject.csp import ContentSecurityPolicyMiddleware
from webclient.tests.test_app_page import CSP, policy

HEADER, REPORT_ONLY = "Content-Security-Policy", "Content-Security-Policy-Report-Only"
INLINE_STYLES = ["'self'", "'unsafe-inline'"]


@pytest.fixture(autouse=True)
def no_header_kept(monkeypatch):
    """Each test starts with no header built: what one test's responses left
    must not decide what the next one sees."""
    monkeypatch.setattr(csp, "_plain_headers", {})


def served(path, view=lambda request: HttpResponse("{}"), *, use_nonce=False):
    """The response of `view` at `path` after the middleware, and the request."""
    request = RequestFactory().get(path)

    def respond(request):
        if use_nonce:
            str(request.csp_nonce)
        return view(request)

    return ContentSecurityPolicyMiddleware(respond)(request), request


def by_django_csp(path, response):
    """What django-csp itself writes for this path, with our exceptions."""

    class Reference(ContentSecurityPolicyMiddleware):
        process_response = CSPMiddleware.process_response

    return Reference(lambda request: response)(RequestFactory().get(path))


@pytest.mark.parametrize(
    ("path", "changed"),
    [
        ("/api/v1/chats/get-chat", {}),
        ("/admin/chats/chat/", {"style-src": INLINE_STYLES}),
        ("/docs", {"style-src": INLINE_STYLES}),
        ("/redoc", {"style-src": INLINE_STYLES, "worker-src": ["'self'", "blob:"]}),
    ],
)
def test_a_response_that_leaves_the_policy_as_it_is_gets_the_header_django_csp_builds(path, changed):
    first, _ = served(path)
    second, request = served(path)

    assert policy(first[HEADER]) == {**CSP, **changed}
    assert second[HEADER] == first[HEADER] == by_django_csp(path, HttpResponse())[HEADER]
    assert REPORT_ONLY not in first
    with pytest.raises(Exception, match="not available after the CSP header has been written"):
        str(request.csp_nonce)


def test_a_response_that_used_its_nonce_names_it_and_the_next_one_does_not():
    with_nonce, request = served("/", use_nonce=True)
    plain, _ = served("/")

    nonce = f"'nonce-{request._csp_nonce}'"
    assert policy(with_nonce[HEADER])["script-src"] == ["'self'", nonce]
    assert policy(with_nonce[HEADER])["style-src"] == ["'self'", nonce]
    assert policy(plain[HEADER]) == CSP


def test_a_decorated_view_keeps_what_its_decorator_says():
    updated, _ = served("/api/v1/x", csp_update({"img-src": "https://img.example.com"})(lambda r: HttpResponse()))
    exempt, _ = served("/api/v1/x", csp_exempt()(lambda r: HttpResponse()))

    assert policy(updated[HEADER])["img-src"] == ["'self'", "data:", "https://img.example.com"]
    assert HEADER not in exempt


def test_a_header_the_view_set_is_kept():
    def view(request):
        response = HttpResponse()
        response[HEADER] = "default-src 'none'"
        return response

    response, _ = served("/api/v1/x", view)

    assert response[HEADER] == "default-src 'none'"


def test_changed_settings_change_the_header():
    served("/api/v1/x")  # the header for the settings as they were is kept

    report_only = {"DIRECTIVES": {"default-src": ["'self'"], "report-uri": "/csp-report"}}
    with override_settings(CONTENT_SECURITY_POLICY_REPORT_ONLY=report_only):
        reported, _ = served("/api/v1/x")
    with override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": {"default-src": ["'none'"]}}):
        strict, _ = served("/api/v1/x")
    with override_settings(CONTENT_SECURITY_POLICY={"EXCLUDE_URL_PREFIXES": ["/api/"], "DIRECTIVES": {}}):
        excluded, _ = served("/api/v1/x")
    after, _ = served("/api/v1/x")

    assert reported[REPORT_ONLY] == "default-src 'self'; report-uri /csp-report"
    assert strict[HEADER] == "default-src 'none'"
    assert HEADER not in excluded
    assert policy(after[HEADER]) == CSP


@override_settings(DEBUG=True)
def test_a_debug_page_is_left_without_a_policy_as_django_csp_leaves_it():
    response, _ = served("/nowhere", lambda request: HttpResponse(status=HTTPStatus.NOT_FOUND))

    assert HEADER not in response
