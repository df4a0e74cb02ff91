"""Branch routes: parse, call a service or selector, render."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from chatproject.api.openapi import (
    LOCKED,
    ErrorResponse409Serializer,
    generation_responses,
)
from chatproject.api.params import QUERY_OR_BODY, validated
from chatproject.api.reads import cached_read
from chatproject.api.streams import EventStreamNegotiationMixin
from chats.representations import annotated_chat_representation, pair_representation
from chats.responses import generation_response, throttle_generation
from chats.serializers import ChatOutputSerializer, RegenerateInputSerializer

from . import selectors, services
from .serializers import (
    BranchCreateInputSerializer,
    BranchDeleteInputSerializer,
    BranchIdInputSerializer,
    BranchListOutputSerializer,
    BranchOutputSerializer,
    BranchRenameInputSerializer,
    BranchWithMessagesOutputSerializer,
    ChatIdQuerySerializer,
)

DELETE_CONFLICTS = {
    409: OpenApiResponse(
        ErrorResponse409Serializer,
        description="The chat is locked (`chat_locked`), the branch is the root (`root_branch`), "
        "or it has branches and `cascade` is not true (`branch_has_children`).",
    )
}


def branch_generation_response(branch, generation, *, stream):
    """A new branch whose first pair is being generated (edit, regenerate)."""
    return generation_response(
        generation,
        stream=stream,
        lead=[("branch", selectors.branch_written(branch=branch))],
        body=lambda pair: {**selectors.branch_written(branch=branch), "messages": [pair]},
    )


class BranchViewSet(EventStreamNegotiationMixin, viewsets.GenericViewSet):
    @extend_schema(
        operation_id="branches_create_branch",
        request=BranchCreateInputSerializer,
        responses=generation_responses(BranchWithMessagesOutputSerializer),
    )
    @action(detail=False, methods=["post"], url_path="create-branch")
    def create_branch(self, request):
        data = validated(BranchCreateInputSerializer, request)
        stream = data.pop("stream")
        if "question" in data and "response" not in data:
            throttle_generation(request, self)
            branch, generation = services.branch_generate(user=request.user, **data)
            return branch_generation_response(branch, generation, stream=stream)
        branch, first = services.branch_create(user=request.user, **data)
        messages = [] if first is None else [pair_representation(first, position=branch.fork_position)]
        return Response({**selectors.branch_written(branch=branch), "messages": messages}, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="branches_get_branches", parameters=[ChatIdQuerySerializer], responses={200: BranchListOutputSerializer}
    )
    @action(detail=False, methods=["get"], url_path="get-branches")
    def get_branches(self, request):
        data = validated(ChatIdQuerySerializer, request)
        return cached_read(request, "branches", selectors.branch_list, chat_id=data["chat_id"])

    @extend_schema(
        operation_id="branches_set_active_branch",
        request=BranchIdInputSerializer,
        responses={200: ChatOutputSerializer, **LOCKED},
    )
    @action(detail=False, methods=["put"], url_path="set-active-branch")
    def set_active_branch(self, request):
        data = validated(BranchIdInputSerializer, request)
        chat = services.branch_activate(user=request.user, **data)
        return Response(annotated_chat_representation(chat))

    @extend_schema(
        operation_id="branches_rename_branch",
        request=BranchRenameInputSerializer,
        responses={200: BranchOutputSerializer, **LOCKED},
    )
    @action(detail=False, methods=["put"], url_path="rename-branch")
    def rename_branch(self, request):
        data = validated(BranchRenameInputSerializer, request)
        branch = services.branch_rename(user=request.user, **data)
        return Response(selectors.branch_written(branch=branch))

    @extend_schema(
        operation_id="branches_delete_branch",
        request=BranchDeleteInputSerializer,
        parameters=[BranchDeleteInputSerializer],
        responses={204: None, **DELETE_CONFLICTS},
    )
    @action(detail=False, methods=["delete"], url_path="delete-branch")
    def delete_branch(self, request):
        data = validated(BranchDeleteInputSerializer, request, (*QUERY_OR_BODY, "cascade"))
        services.branch_delete(user=request.user, **data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RegenerateViewSet(EventStreamNegotiationMixin, viewsets.GenericViewSet):
    """`POST messages/regenerate`: a message route, served by this app since
    it makes a branch."""

    @extend_schema(
        operation_id="messages_regenerate",
        request=RegenerateInputSerializer,
        responses=generation_responses(BranchWithMessagesOutputSerializer),
    )
    def regenerate(self, request):
        data = validated(RegenerateInputSerializer, request)
        stream = data.pop("stream")
        throttle_generation(request, self)
        branch, generation = services.pair_regenerate(user=request.user, **data)
        return branch_generation_response(branch, generation, stream=stream)
