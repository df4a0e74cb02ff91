"""Cached reads of one chat, shared by the routes of every app."""

from django.http import HttpResponse

from chatproject.cache import cached_chat_json


def cached_read(request, view, read, **arguments):
    """The JSON response of `read(user=…, **arguments)`, a read of the chat
    `arguments["chat_id"]`, served from the cache while the chat is unchanged.
    `view` names the read in the cache key; the other arguments are part of it."""
    body = cached_chat_json(
        user_id=request.user.pk,
        chat_id=arguments["chat_id"],
        view=view,
        params=[arguments[name] or "" for name in sorted(arguments) if name != "chat_id"],
        compute=lambda: read(user=request.user, **arguments),
    )
    return HttpResponse(body, content_type="application/json")
