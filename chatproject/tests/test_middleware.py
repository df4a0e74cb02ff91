"""The message storage is made only for a request that uses it."""

from django.contrib import messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.functional import empty

from chatproject.middleware import LazyMessageMiddleware


def through_middleware(view):
    request = RequestFactory().get("/admin/")
    SessionMiddleware(lambda r: None).process_request(request)
    return LazyMessageMiddleware(view)(request), request


def test_a_request_that_never_uses_messages_builds_no_storage_and_sets_no_cookie():
    response, request = through_middleware(lambda request: HttpResponse())

    assert request._messages._wrapped is empty
    assert "messages" not in response.cookies


def test_a_message_added_is_saved_for_the_next_page():
    def view(request):
        messages.success(request, "The chat was hidden.")
        return HttpResponse()

    response, request = through_middleware(view)

    assert isinstance(request._messages._wrapped, FallbackStorage)
    later = RequestFactory().get("/admin/", HTTP_COOKIE=f"messages={response.cookies['messages'].value}")
    SessionMiddleware(lambda r: None).process_request(later)
    LazyMessageMiddleware(lambda r: None).process_request(later)
    assert [str(m) for m in messages.get_messages(later)] == ["The chat was hidden."]
