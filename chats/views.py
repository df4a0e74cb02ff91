"""Chat and message routes: parse, call a service or selector, render."""

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from chatproject.api.openapi import LOCKED, STREAM_EVENTS, generation_responses
from chatproject.api.pagination import ActivityCursorPagination
from chatproject.api.params import validated
from chatproject.api.reads import cached_read
from chatproject.api.streams import EventStreamNegotiationMixin

from . import generation as generations
from . import selectors, services
from .representations import (
    annotated_chat_representation,
    chat_representation,
    pair_representation,
)
from .responses import attached_response, generation_response, throttle_generation
from .serializers import (
    ChatCreateInputSerializer,
    ChatIdInputSerializer,
    ChatListQuerySerializer,
    ChatOutputSerializer,
    ChatPageOutputSerializer,
    ChatUpdateInputSerializer,
    ChatWithMessagesOutputSerializer,
    MessageAddInputSerializer,
    MessagesPageOutputSerializer,
    PageQuerySerializer,
    PairIdInputSerializer,
    PairOutputSerializer,
)


def page_arguments(data):
    return {
        "chat_id": data["chat_id"],
        "branch_id": data.get("branch_id"),
        "limit": data["limit"],
        "before": data.get("before"),
    }


class ChatViewSet(EventStreamNegotiationMixin, viewsets.GenericViewSet):
    @extend_schema(
        operation_id="chats_create_chat",
        request=ChatCreateInputSerializer,
        responses=generation_responses(ChatWithMessagesOutputSerializer),
    )
    @action(detail=False, methods=["post"], url_path="create-chat")
    def create_chat(self, request):
        data = validated(ChatCreateInputSerializer, request)
        stream = data.pop("stream")
        if "question" in data and "response" not in data:
            throttle_generation(request, self)
            chat, generation = generations.chat_generate(user=request.user, **data)
            started = chat_representation(chat, root_branch_id=chat.active_branch_id, branch_count=1)
            return generation_response(
                generation,
                stream=stream,
                lead=[("chat", started)],
                body=lambda pair: {
                    **annotated_chat_representation(selectors.chat_summary_get(chat_id=chat.id)),
                    "messages": [pair],
                },
            )
        chat, first = services.chat_create(user=request.user, **data)
        body = {
            **chat_representation(chat, root_branch_id=chat.active_branch_id, branch_count=1),
            "messages": [] if first is None else [pair_representation(first, position=0)],
        }
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="chats_get_chat", parameters=[PageQuerySerializer], responses={200: ChatPageOutputSerializer})
    @action(detail=False, methods=["get"], url_path="get-chat")
    def get_chat(self, request):
        data = validated(PageQuerySerializer, request)
        return cached_read(request, "page", selectors.chat_page, **page_arguments(data))

    @extend_schema(
        operation_id="chats_update_chat",
        request=ChatUpdateInputSerializer,
        responses={200: ChatOutputSerializer, **LOCKED},
    )
    @action(detail=False, methods=["put"], url_path="update-chat")
    def update_chat(self, request):
        data = validated(ChatUpdateInputSerializer, request)
        chat = services.chat_update(user=request.user, chat_id=data["chat_id"], title=data["title"])
        return Response(annotated_chat_representation(chat))

    @extend_schema(operation_id="chats_delete_chat", request=ChatIdInputSerializer, parameters=[ChatIdInputSerializer], responses={204: None})
    @action(detail=False, methods=["delete"], url_path="delete-chat")
    def delete_chat(self, request):
        data = validated(ChatIdInputSerializer, request)
        services.chat_delete(chat=selectors.chat_get(user=request.user, chat_id=data["chat_id"]))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="chats_list_chats",
        parameters=[ChatListQuerySerializer],
        responses={200: ChatOutputSerializer(many=True)},
    )
    @action(detail=False, methods=["get"], url_path="list-chats", pagination_class=ActivityCursorPagination)
    def list_chats(self, request):
        query = ChatListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        chats = selectors.chat_list(user=request.user, search=query.validated_data.get("search"))
        page = self.paginate_queryset(chats)
        return self.get_paginated_response([annotated_chat_representation(chat) for chat in page])


class MessageViewSet(EventStreamNegotiationMixin, viewsets.GenericViewSet):
    @extend_schema(
        operation_id="messages_add_message",
        request=MessageAddInputSerializer,
        responses=generation_responses(PairOutputSerializer),
    )
    @action(detail=False, methods=["post"], url_path="add-message")
    def add_message(self, request):
        data = validated(MessageAddInputSerializer, request)
        stream = data.pop("stream")
        if "response" not in data:
            throttle_generation(request, self)
            generation = generations.message_generate(user=request.user, **data)
            return generation_response(generation, stream=stream, body=lambda pair: pair)
        pair, position = services.message_add(user=request.user, **data)
        return Response(pair_representation(pair, position=position), status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="messages_get_messages",
        parameters=[PageQuerySerializer],
        responses={200: MessagesPageOutputSerializer},
    )
    @action(detail=False, methods=["get"], url_path="get-messages")
    def get_messages(self, request):
        data = validated(PageQuerySerializer, request)
        return cached_read(request, "messages", selectors.messages_page, **page_arguments(data))

    @extend_schema(
        operation_id="messages_stop_generation",
        request=PairIdInputSerializer,
        responses={200: PairOutputSerializer, **LOCKED},
    )
    @action(detail=False, methods=["post"], url_path="stop-generation")
    def stop_generation(self, request):
        data = validated(PairIdInputSerializer, request)
        pair, position = generations.generation_stop(user=request.user, **data)
        return Response(pair_representation(pair, position=position))

    @extend_schema(
        operation_id="messages_stream_message",
        parameters=[PairIdInputSerializer],
        responses={(200, "text/event-stream"): STREAM_EVENTS},
    )
    @action(detail=False, methods=["get"], url_path="stream-message")
    def stream_message(self, request):
        data = validated(PairIdInputSerializer, request, ("chat_id", "response_id"))
        pair, position = selectors.pair_get(user=request.user, **data)
        return attached_response(chat_id=data["chat_id"], pair=pair, position=position)
