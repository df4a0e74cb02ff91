"""The events of a generation's stream, and how they are written as
server-sent events.

Every event carries an SSE `id:` that any process computes alike: the number
of the response's characters (Unicode code points, as Python counts them) a
client holds once it has the event. `pair` says how much text it carries,
each `delta` where its text ends, the lead events (`chat`, `branch`) 0; the
generation's last event (`done` or `error`) is `end`. An `error` that ends a
stream but not its generation (a server going away, a store lost mid-stream)
carries the id of the event before it, so a reconnect goes on from there. A client that reconnects with
`Last-Event-ID: n` (or `after=n`) therefore gets the text from character n
on, then the end: nothing doubled, nothing lost, whichever process sent the
events before and whichever sends them now — from its own memory, from the
event log in Redis or from the text saved in MongoDB.
"""

import dataclasses
import json

from django.core.serializers.json import DjangoJSONEncoder

END = "end"
KEEP_ALIVE = b": keep-alive\n\n"
# While no event is due, a comment this often keeps proxies from closing
# the connection.
KEEP_ALIVE_EVERY = 15.0


@dataclasses.dataclass(frozen=True)
class Event:
    name: str  # chat, branch, pair, delta, done or error
    data: object
    id: str


def lead(name: str, data) -> Event:
    return Event(name, data, "0")


def pair(data: dict) -> Event:
    return Event("pair", data, str(len(data["response"])))


def delta(response_id: str, text: str, offset: int) -> Event:
    return Event("delta", {"response_id": response_id, "text": text, "offset": offset}, str(offset + len(text)))


def end(name: str, data) -> Event:
    return Event(name, data, END)


def cut(data) -> Event:
    """An `error` that ends a stream but not its generation (this server is
    going away, or lost what it read from): its id is where the client got
    to, so a reconnect with it goes on from there. Set by whoever sends it."""
    return Event("error", data, "")


def encode(event: Event) -> bytes:
    payload = json.dumps(event.data, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))
    return f"id: {event.id}\nevent: {event.name}\ndata: {payload}\n\n".encode()


def parse_position(value: str) -> int | str:
    """A client's last event id: a character offset, or END (it has every
    event). Raises ValueError for anything this service never sent."""
    value = value.strip()
    if value == END:
        return END
    if not value.isdigit() or len(value) > 9:
        raise ValueError(value)
    return int(value)
