"""Cached reads of one chat, shared by the routes of every app."""

import typing
from collections.abc import Callable

from django.http import HttpResponse
from rest_framework.exceptions import ValidationError

from chatproject.cache import cached_chat_json, chat_read_prefetch


class CachedRead(typing.NamedTuple):
    """`read(user=…, **arguments)`, a read of the chat `arguments["chat_id"]`;
    `view` names it in the cache key, and the other arguments are part of it."""

    view: str
    read: Callable
    arguments: dict

    def cache_arguments(self, user):
        arguments = self.arguments
        return {
            "user_id": user.pk,
            "chat_id": arguments["chat_id"],
            "view": self.view,
            "params": [arguments[name] or "" for name in sorted(arguments) if name != "chat_id"],
        }


def cached_read(request, read: CachedRead, prefetch=None):
    """The JSON response of `read`, served from the cache while the chat is
    unchanged."""
    response = StoringResponse(content_type="application/json")
    response.content = cached_chat_json(
        **read.cache_arguments(request.user),
        compute=lambda: read.read(user=request.user, **read.arguments),
        prefetch=prefetch,
        store_later=response.stores.append,
    )
    return response


class StoringResponse(HttpResponse):
    """A response that stores the cache entries computed for it once it has
    been sent: the server calls `close()` after writing the last byte, so
    the client does not wait for the copy kept for the next read (a Redis
    round trip and a page's bytes; the read right after a write always
    pays it). The work is the same, and the process does it before taking
    another request on this thread. A client that asks again at once, before
    the entry is there, is answered from the stores; every entry carries the
    version it was computed under, so one stored late after a write is
    never served."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stores = []

    def close(self):
        try:
            for store in self.stores:
                store()
        finally:
            self.stores = []
            super().close()


def _has_body(request):
    meta = request.META
    return meta.get("CONTENT_LENGTH") not in (None, "", "0") or "HTTP_TRANSFER_ENCODING" in meta


class CachedReadsMixin:
    """For a ViewSet whose action `x` is a cached read described by a method
    `x_read(request) -> CachedRead`: the read's cache entry is looked up in
    the same Redis round trip as the rate limit, which comes first (a hit
    then costs no round trip of its own).

    The input is validated before the rate limit only to name the entry;
    input that does not validate, or a body to parse (a read may take ids in
    one), is left to the action, after the rate limit as on every route."""

    def check_throttles(self, request):
        describe = getattr(self, f"{self.action}_read", None) if self.action else None
        if describe is not None and not _has_body(request):
            try:
                read = describe(request)
            except ValidationError:
                pass
            else:
                request.cached_read = read
                request.redis_prefetch = chat_read_prefetch(**read.cache_arguments(request.user))
        super().check_throttles(request)

    def cached_response(self, request):
        """The action's response: its read, from the cache when it can be."""
        read = getattr(request, "cached_read", None) or getattr(self, f"{self.action}_read")(request)
        return cached_read(request, read, prefetch=getattr(request, "redis_prefetch", None))
