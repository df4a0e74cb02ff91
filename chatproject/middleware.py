"""Middleware of the whole site (the API's own is in `chatproject.api.middleware`)."""

from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.utils.functional import SimpleLazyObject, empty


class LazyMessageMiddleware(MessageMiddleware):
    """Django's, with the message storage made when first used: only admin
    pages show or add messages, and building the storage (a cookie signer, a
    session storage) cost every API request about 20 µs. A response saves
    the messages only of a request that used them, as Django's saves none
    that were never added or read."""

    def process_request(self, request):
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request, response):
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and messages._wrapped is empty:
            return response
        return super().process_response(request, response)
