"""Chat and message routes: parse, call a service or selector, render."""

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from chatproject.api.openapi import IDS_IN_BODY_NOTES, errors, generation_responses
from chatproject.api.pagination import ActivityCursorPagination
from chatproject.api.params import validated
from chatproject.api.reads import CachedRead, CachedReadsMixin
from chatproject.api.streams import EventStreamNegotiationMixin

from generation import services as generations
from generation.responses import generation_response, throttle_generation

from . import selectors, services
from .representations import (
    annotated_chat_representation,
    chat_representation,
    pair_representation,
)
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
    PairOutputSerializer,
)

# The 404s of a page read, for the schema's examples.
PAGE_MISSING = (
    "Chat not found.",
    "Branch not found in this chat.",
    "No pair with this response_id on this branch's path.",
)


def page_arguments(data):
    return {
        "chat_id": data["chat_id"],
        "branch_id": data.get("branch_id"),
        "limit": data["limit"],
        "before": data.get("before"),
    }


class ChatViewSet(CachedReadsMixin, EventStreamNegotiationMixin, viewsets.GenericViewSet):
    @extend_schema(
        operation_id="chats_create_chat",
        tags=["chats"],
        summary="Create a chat",
        description=(
            "Creates a chat with its root branch (`main`) and, with a `question`, its first pair: "
            "with the `response` given, or answered by the model when it is left out (with "
            "`\"stream\": true`, as an event stream that starts with `chat`). A response alone is a "
            "400. Without a title, the first 60 characters of the question make one, else `New chat`."
        ),
        request=ChatCreateInputSerializer,
        responses=generation_responses(
            ChatWithMessagesOutputSerializer,
            400, 401, 405, 413, 415, 503,
            invalid=("title", "max_length", "Ensure this field has no more than 200 characters."),
        ),
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

    @extend_schema(
        operation_id="chats_get_chat",
        tags=["chats"],
        summary="Read a chat and a page of its path",
        description=(
            "The chat, the branch shown (`branch_id`, default the active branch) and a page of that "
            "branch's whole path, inherited pairs included, oldest first: the latest `limit` pairs, "
            "or the `limit` pairs just before the pair `before`. `has_more` says whether older pairs "
            "exist; pass the first pair's `response_id` as `before` to read them."
        ),
        parameters=[PageQuerySerializer],
        responses={
            200: ChatPageOutputSerializer,
            **errors(
                400, 401, 404, 405, 413, 415, 429, 503,
                method="GET",
                missing=PAGE_MISSING,
                notes=IDS_IN_BODY_NOTES,
            ),
        },
    )
    @action(detail=False, methods=["get"], url_path="get-chat")
    def get_chat(self, request):
        return self.cached_response(request)

    def get_chat_read(self, request):
        return CachedRead("page", selectors.chat_page, page_arguments(validated(PageQuerySerializer, request)))

    @extend_schema(
        operation_id="chats_update_chat",
        tags=["chats"],
        summary="Retitle a chat",
        description="Changes the title, and only the title: any other field (`status`, `owner` …) is a 400.",
        request=ChatUpdateInputSerializer,
        responses={
            200: ChatOutputSerializer,
            **errors(
                400, 401, 404, 405, 409, 413, 415, 429, 503,
                method="PUT",
                invalid=("status", "unknown_field", "Unknown field."),
                conflicts=["chat_locked"],
            ),
        },
    )
    @action(detail=False, methods=["put"], url_path="update-chat")
    def update_chat(self, request):
        data = validated(ChatUpdateInputSerializer, request)
        chat = services.chat_update(user=request.user, chat_id=data["chat_id"], title=data["title"])
        return Response(annotated_chat_representation(chat))

    @extend_schema(
        operation_id="chats_delete_chat",
        tags=["chats"],
        summary="Delete a chat",
        description=(
            "Deletes the chat, all its branches and all their pairs, also when a moderator locked it. "
            "`chat_id` in the query string or the body."
        ),
        request=ChatIdInputSerializer,
        parameters=[ChatIdInputSerializer],
        responses={204: None, **errors(400, 401, 404, 405, 413, 415, 429, 503, method="DELETE")},
    )
    @action(detail=False, methods=["delete"], url_path="delete-chat")
    def delete_chat(self, request):
        data = validated(ChatIdInputSerializer, request)
        services.chat_delete(chat=selectors.chat_get(user=request.user, chat_id=data["chat_id"]))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="chats_list_chats",
        tags=["chats"],
        summary="List your chats",
        description=(
            "Your chats, most recently active first (any write to a chat moves it up), a page at a "
            "time: follow `next` and `previous`. Hidden chats are not listed."
        ),
        parameters=[ChatListQuerySerializer],
        responses={
            200: ChatOutputSerializer(many=True),
            **errors(
                400, 401, 405, 429, 503,
                method="GET",
                json_body=False,
                invalid=("cursor", "invalid", "Invalid cursor."),
            ),
        },
    )
    @action(detail=False, methods=["get"], url_path="list-chats", pagination_class=ActivityCursorPagination)
    def list_chats(self, request):
        query = ChatListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        chats = selectors.chat_list(user=request.user, search=query.validated_data.get("search"))
        page = self.paginate_queryset(chats)
        return self.get_paginated_response([annotated_chat_representation(chat) for chat in page])


class MessageViewSet(CachedReadsMixin, EventStreamNegotiationMixin, viewsets.GenericViewSet):
    @extend_schema(
        operation_id="messages_add_message",
        tags=["messages"],
        summary="Append a pair",
        description=(
            "Appends a question and its response to a branch (default: the active one). The pair "
            "comes back with its `position` in that branch's path. Two clients appending at once "
            "both succeed, in order. Without `response`, the model answers, with the branch's path "
            "as its context: the question is stored first (`generating`), the answer is saved as it "
            "arrives, and the request returns the finished pair (201) or, with `\"stream\": true`, "
            "an event stream. One generation per branch at a time (409 `generation_in_progress`)."
        ),
        request=MessageAddInputSerializer,
        responses=generation_responses(
            PairOutputSerializer,
            400, 401, 404, 405, 409, 413, 415, 503,
            invalid=("question", "required", "This field is required."),
            missing=("Chat not found.", "Branch not found in this chat."),
            conflicts=["chat_locked", "generation_in_progress"],
        ),
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
        tags=["messages"],
        summary="Read a page of a branch's path",
        description="As get-chat, without the chat around the page.",
        parameters=[PageQuerySerializer],
        responses={
            200: MessagesPageOutputSerializer,
            **errors(
                400, 401, 404, 405, 413, 415, 429, 503,
                method="GET",
                missing=PAGE_MISSING,
                notes=IDS_IN_BODY_NOTES,
            ),
        },
    )
    @action(detail=False, methods=["get"], url_path="get-messages")
    def get_messages(self, request):
        return self.cached_response(request)

    def get_messages_read(self, request):
        return CachedRead("messages", selectors.messages_page, page_arguments(validated(PageQuerySerializer, request)))
