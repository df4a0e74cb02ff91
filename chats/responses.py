"""How the routes that generate answer: the finished pair (201), or, with
`"stream": true`, an event stream of the generation as it runs. Shared by the
chat, message and branch routes."""

from collections.abc import Callable, Iterable

from rest_framework import status
from rest_framework.response import Response

from chatproject.api.streams import check_throttle, event_stream
from chatproject.api.throttles import GenerateThrottle

from . import generation as generations
from .representations import pair_representation


def throttle_generation(request, view) -> None:
    check_throttle(GenerateThrottle(), request, view)


def generation_response(
    generation: generations.Generation,
    *,
    stream: bool,
    body: Callable[[dict], dict],
    lead: Iterable[tuple[str, object]] = (),
):
    """With `stream`: the events `lead` (`chat`, `branch`), `pair` (as stored
    at the start), the `delta`s, then `done` or `error`. Without: wait for the
    end and answer 201 with `body(the final pair)`, or the error that ended
    the generation (the pair is kept, failed or interrupted)."""

    def represent(pair):
        return pair_representation(pair, position=generation.position)

    if stream:

        def events():
            yield from lead
            yield "pair", represent(generation.started)
            for event in generations.local_events(generation, offset=0, represent=represent):
                yield event.name, event.data

        return event_stream(events())
    final = generation.wait()
    if generation.error is not None:
        raise generation.error
    return Response(body(represent(final)), status=status.HTTP_201_CREATED)


def attached_response(*, chat_id, pair, position: int):
    """stream-message: `pair` with its text so far, then the rest."""

    def represent(stored):
        return pair_representation(stored, position=position)

    snapshot, rest = generations.attach(chat_id=chat_id, pair=pair, represent=represent)

    def events():
        yield "pair", represent(snapshot)
        for event in rest:
            yield event.name, event.data

    return event_stream(events())
