"""Chat and message routes: parse, call a service or selector, render."""

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from chatproject.api.openapi import IDS_IN_BODY_NOTES, errors
from chatproject.api.pagination import ActivityCursorPagination
from chatproject.api.params import request_input

from . import selectors, services
from .cache import cached_chat_json
from .representations import annotated_chat_representation, chat_representation, pair_representation
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

def validated(serializer_class, request):
    serializer = serializer_class(data=request_input(request))
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def cached_read(request, view, read, **arguments):
    """A read of one chat, served from the cache while the chat is unchanged."""
    body = cached_chat_json(
        user_id=request.user.pk,
        chat_id=arguments["chat_id"],
        view=view,
        params=[arguments[name] or "" for name in sorted(arguments) if name != "chat_id"],
        compute=lambda: read(user=request.user, **arguments),
    )
    return HttpResponse(body, content_type="application/json")


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


class ChatViewSet(viewsets.GenericViewSet):
    @extend_schema(
        operation_id="chats_create_chat",
        tags=["chats"],
        summary="Create a chat",
        description=(
            "Creates a chat with its root branch (`main`), and its first pair when `question` and "
            "`response` are given (both or neither). Without a title, the first 60 characters of the "
            "question make one, else `New chat`."
        ),
        request=ChatCreateInputSerializer,
        responses={
            201: ChatWithMessagesOutputSerializer,
            **errors(
                400, 401, 405, 413, 415, 429, 503,
                invalid=("title", "max_length", "Ensure this field has no more than 200 characters."),
            ),
        },
    )
    @action(detail=False, methods=["post"], url_path="create-chat")
    def create_chat(self, request):
        data = validated(ChatCreateInputSerializer, request)
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
        data = validated(PageQuerySerializer, request)
        return cached_read(request, "page", selectors.chat_page, **page_arguments(data))

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


class MessageViewSet(viewsets.GenericViewSet):
    @extend_schema(
        operation_id="messages_add_message",
        tags=["messages"],
        summary="Append a pair",
        description=(
            "Appends a question and its response to a branch (default: the active one). The pair "
            "comes back with its `position` in that branch's path. Two clients appending at once "
            "both succeed, in order."
        ),
        request=MessageAddInputSerializer,
        responses={
            201: PairOutputSerializer,
            **errors(
                400, 401, 404, 405, 409, 413, 415, 429, 503,
                invalid=("question", "required", "This field is required."),
                missing=("Chat not found.", "Branch not found in this chat."),
                conflicts=["chat_locked"],
            ),
        },
    )
    @action(detail=False, methods=["post"], url_path="add-message")
    def add_message(self, request):
        data = validated(MessageAddInputSerializer, request)
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
        data = validated(PageQuerySerializer, request)
        return cached_read(request, "messages", selectors.messages_page, **page_arguments(data))
