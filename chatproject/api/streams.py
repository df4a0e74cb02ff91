"""Server-sent events: how the routes that generate answer with `"stream": true`.

Under WSGI (runserver, gunicorn) a sync generator in a StreamingHttpResponse
sends each event as it is yielded; `Cache-Control: no-cache` and
`X-Accel-Buffering: no` keep proxies from holding it back, and no middleware
of this project buffers or compresses responses. Each open stream holds a
server thread. A client that goes away closes the generator: the generation
itself runs elsewhere (`chats.generation`) and is not affected.
"""

import json
from collections.abc import Iterable, Iterator

from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse
from rest_framework.exceptions import Throttled
from rest_framework.throttling import BaseThrottle

EVENT_STREAM = "text/event-stream"


def _encode(name: str, data) -> bytes:
    payload = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))
    return f"event: {name}\ndata: {payload}\n\n".encode()


def event_stream(events: Iterable[tuple[str, object]]) -> StreamingHttpResponse:
    """A 200 `text/event-stream` of `(name, data)` events, data as JSON."""

    def body() -> Iterator[bytes]:
        for name, data in events:
            yield _encode(name, data)

    response = StreamingHttpResponse(body(), content_type=EVENT_STREAM)
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


class EventStreamNegotiationMixin:
    """Routes that may answer with an event stream: a client reading one sends
    `Accept: text/event-stream`, which DRF would answer with 406 for want of a
    renderer. Everything but the stream itself (errors included) is JSON."""

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)


def check_throttle(throttle: BaseThrottle, request, view) -> None:
    """Apply a throttle from inside a view, once the view knows it applies."""
    if not throttle.allow_request(request, view):
        raise Throttled(wait=throttle.wait())
