"""Reading the event streams of the generation routes in tests."""

import json
from http import HTTPStatus


def sse(response):
    """The events of a streamed response, as (name, data) pairs, read to the end."""
    assert response.status_code == HTTPStatus.OK, response.content
    assert response["Content-Type"] == "text/event-stream"
    return list(parse(response.streaming_content))


def parse(chunks, *, ids=False):
    """(name, data) of each event as it arrives (with `ids`: (id, name,
    data)); keep-alive comments are skipped."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        while b"\n\n" in buffer:
            raw, buffer = buffer.split(b"\n\n", 1)
            fields = dict(line.split(": ", 1) for line in raw.decode().split("\n") if not line.startswith(":"))
            if not fields:
                continue
            event = (fields["event"], json.loads(fields["data"]))
            yield (fields["id"], *event) if ids else event


def joined(events):
    """The text of the `delta`s, each checked to start where the last ended."""
    text = ""
    for name, data in events:
        if name == "delta":
            assert data["offset"] == len(text), (data, len(text))
            text += data["text"]
    return text
