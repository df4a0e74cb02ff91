"""The message routes that only generation has: regenerate, stop-generation
and stream-message. Parse, call a service, render."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from branches.serializers import NEW_BRANCH_RESPONSES
from chatproject.api.openapi import STREAM_EVENTS, errors
from chatproject.api.params import validated
from chatproject.api.streams import EventStreamNegotiationMixin
from chats.representations import pair_representation
from chats.selectors import pair_get
from chats.serializers import PairIdInputSerializer, PairOutputSerializer

from . import events, services
from .responses import branch_generation_response, throttle_generation
from .serializers import RegenerateInputSerializer, StreamQuerySerializer
from .streams import event_stream


class GenerationViewSet(EventStreamNegotiationMixin, viewsets.GenericViewSet):
    @extend_schema(
        operation_id="messages_regenerate",
        tags=["messages"],
        summary="Answer a question again",
        description=(
            "A new branch forked right before the pair `response_id` (after the pair before it on "
            "its branch, or at that branch's own fork point), whose first pair repeats the question "
            "with a newly generated answer. The old answer stays where it was; the fork pair's "
            "`branches` lists both. As create-branch, with `\"stream\": true` for an event stream."
        ),
        request=RegenerateInputSerializer,
        responses=NEW_BRANCH_RESPONSES,
    )
    @action(detail=False, methods=["post"], url_path="regenerate")
    def regenerate(self, request):
        data = validated(RegenerateInputSerializer, request)
        stream = data.pop("stream")
        throttle_generation(request, self)
        branch, generation = services.pair_regenerate(user=request.user, **data)
        return branch_generation_response(branch, generation, stream=stream)

    @extend_schema(
        operation_id="messages_stop_generation",
        tags=["messages"],
        summary="Stop a generation",
        description=(
            "Stops the generation of a pair, from any process of the service, before or after its "
            "first token: the model's stream is closed and the pair is stored `interrupted` with the "
            "text generated so far (empty when none came). A pair that is no longer generating is "
            "returned unchanged."
        ),
        request=PairIdInputSerializer,
        responses={
            200: PairOutputSerializer,
            **errors(
                400, 401, 404, 405, 409, 413, 415, 429, 503,
                invalid=("response_id", "required", "This field is required."),
                missing=("Chat not found.", "No pair with this response_id in this chat."),
                conflicts=["chat_locked"],
            ),
        },
    )
    @action(detail=False, methods=["post"], url_path="stop-generation")
    def stop_generation(self, request):
        data = validated(PairIdInputSerializer, request)
        pair, position = services.generation_stop(user=request.user, **data)
        return Response(pair_representation(pair, position=position))

    @extend_schema(
        operation_id="messages_stream_message",
        tags=["messages"],
        summary="Re-attach to a generation",
        description=(
            "An event stream of a pair's generation, whichever process runs it: `pair` with the "
            "text so far, then the `delta` events from there (their `offset` says where each "
            "belongs), then `done` or `error`. With `Last-Event-ID` (or `after`), the events after "
            "that one instead, without `pair`: nothing doubled, nothing lost. For a pair no longer "
            "generating: `pair` and `done` at once. For a client that lost its stream (a closed "
            "tab, a dropped connection)."
        ),
        parameters=[
            StreamQuerySerializer,
            OpenApiParameter(
                "Last-Event-ID",
                location=OpenApiParameter.HEADER,
                required=False,
                description="The `id` of the last event received, as browsers' `EventSource` sends it.",
            ),
        ],
        responses={
            (200, "text/event-stream"): STREAM_EVENTS,
            **errors(
                400, 401, 404, 405, 429, 503,
                method="GET",
                invalid=("after", "invalid", "Not an event id of this stream."),
                missing=("Chat not found.", "No pair with this response_id in this chat."),
            ),
        },
    )
    @action(detail=False, methods=["get"], url_path="stream-message")
    def stream_message(self, request):
        data = validated(StreamQuerySerializer, request, ("chat_id", "response_id"))
        after = data.pop("after", None)
        if after is None and "HTTP_LAST_EVENT_ID" in request.META:
            try:
                after = events.parse_position(request.META["HTTP_LAST_EVENT_ID"])
            except ValueError:
                raise ValidationError({"Last-Event-ID": ["Not an event id of this stream."]}) from None
        if after == events.END:
            pair_get(user=request.user, **data)  # the pair is theirs, or 404
            return event_stream(iter(()))  # and they have had every event
        return event_stream(services.generation_attach(user=request.user, after=after, **data))
