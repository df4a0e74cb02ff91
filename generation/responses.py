"""How the routes that generate answer: the finished pair (201), or, with
`"stream": true`, an event stream of the generation as it runs. Shared by
the chat, message and branch routes."""

from collections.abc import Callable, Iterable

from rest_framework import status
from rest_framework.response import Response

from branches.selectors import branch_written
from chatproject.api.streams import check_throttle
from chatproject.api.throttles import GenerateThrottle
from chats.representations import pair_representation

from . import events, readers
from .streams import event_stream, release_database_connection
from .worker import Generation


def throttle_generation(request, view) -> None:
    check_throttle(GenerateThrottle(), request, view)


def generation_response(
    generation: Generation,
    *,
    stream: bool,
    body: Callable[[dict], dict],
    lead: Iterable[tuple[str, object]] = (),
):
    """With `stream`: the events `lead` (`chat`, `branch`), `pair` (as stored
    at the start), the `delta`s, then `done` or `error`. Without: wait for the
    end and answer 201 with `body(the final pair)`, or the error that ended
    the generation (the pair is kept, failed or interrupted)."""
    if stream:

        def produced():
            for name, data in lead:
                yield events.lead(name, data)
            yield from readers.attach_local(generation)

        return event_stream(produced())
    release_database_connection()
    final = generation.wait()
    if generation.error is not None:
        raise generation.error
    return Response(body(pair_representation(final, position=generation.position)), status=status.HTTP_201_CREATED)


def branch_generation_response(branch, generation, *, stream):
    """A new branch whose first pair is being generated (edit, regenerate)."""
    return generation_response(
        generation,
        stream=stream,
        lead=[("branch", branch_written(branch=branch))],
        body=lambda pair: {**branch_written(branch=branch), "messages": [pair]},
    )
