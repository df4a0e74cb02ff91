"""Server-sent events: how a generation is sent to a client.

Under WSGI (runserver, gunicorn) a sync generator in a StreamingHttpResponse
sends each event as it is yielded; `Cache-Control: no-cache` and
`X-Accel-Buffering: no` keep proxies from holding it back, and no middleware
of this project buffers or compresses responses. Each open stream holds a
server thread but not a database connection: it gives its connection back
before it starts waiting. A client that goes away closes the generator; the
generation itself runs elsewhere (`worker`) and is not affected. A stream
that cannot go on ends with an `error` event, never a cut connection.
"""

import dataclasses
import logging
from collections.abc import Iterator

from django.db import connection
from django.http import StreamingHttpResponse

from chatproject.errors import DomainError, ServiceUnavailable, body_of

from . import events

logger = logging.getLogger(__name__)

EVENT_STREAM = "text/event-stream"


def release_database_connection() -> None:
    """Give this thread's database connection back (to the pool, or closed)
    before a long wait that needs none: waiting threads must not hold the
    connections that working ones need."""
    if not connection.in_atomic_block:
        connection.close()


def event_stream(produced: Iterator[events.Event | None]) -> StreamingHttpResponse:
    """A 200 `text/event-stream` of these events (None: a keep-alive)."""

    def body() -> Iterator[bytes]:
        release_database_connection()
        last_id = "0"
        try:
            for event in produced:
                if event is None:
                    yield events.KEEP_ALIVE
                    continue
                last_id = event.id
                yield events.encode(event)
        except Exception as exc:  # noqa: BLE001 - the client must learn that the stream ended
            if isinstance(exc, DomainError):
                error = exc
            else:
                logger.exception("an event stream broke off")
                error = ServiceUnavailable("The answer's stream broke off: re-attach to follow it.")
            # The generation may well go on: a reconnect with this id resumes it.
            yield events.encode(dataclasses.replace(events.cut(body_of(error)), id=last_id))

    response = StreamingHttpResponse(body(), content_type=EVENT_STREAM)
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
