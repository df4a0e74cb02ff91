"""Branch routes: parse, call a service or selector, render."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from chatproject.api.openapi import ErrorResponse409Serializer
from chatproject.api.params import QUERY_OR_BODY, request_input
from chats.representations import annotated_chat_representation
from chats.serializers import ChatOutputSerializer
from chats.models import Chat
from chats.views import LOCKED, cached_read, validated

from . import selectors, services
from .representations import branch_representation
from .serializers import (
    BranchCreateInputSerializer,
    BranchDeleteInputSerializer,
    BranchIdInputSerializer,
    BranchListOutputSerializer,
    BranchOutputSerializer,
    BranchRenameInputSerializer,
    ChatIdQuerySerializer,
)

DELETE_CONFLICTS = {
    409: OpenApiResponse(
        ErrorResponse409Serializer,
        description="The chat is locked (`chat_locked`), the branch is the root (`root_branch`), "
        "or it has branches and `cascade` is not true (`branch_has_children`).",
    )
}


def branch_body(branch):
    """A branch as a write left it (the chat's active branch may have moved)."""
    # The chat may be gone already, deleted right after this write.
    active_branch_id = Chat.objects.filter(pk=branch.chat_id).values_list("active_branch_id", flat=True).first()
    return branch_representation(branch, active_branch_id=active_branch_id)


class BranchViewSet(viewsets.GenericViewSet):
    @extend_schema(
        operation_id="branches_create_branch",
        request=BranchCreateInputSerializer,
        responses={201: BranchOutputSerializer, **LOCKED},
    )
    @action(detail=False, methods=["post"], url_path="create-branch")
    def create_branch(self, request):
        data = validated(BranchCreateInputSerializer, request)
        branch = services.branch_create(user=request.user, **data)
        return Response(branch_body(branch), status=status.HTTP_201_CREATED)

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
        return Response(branch_body(services.branch_rename(user=request.user, **data)))

    @extend_schema(
        operation_id="branches_delete_branch",
        request=BranchDeleteInputSerializer,
        parameters=[BranchDeleteInputSerializer],
        responses={204: None, **DELETE_CONFLICTS},
    )
    @action(detail=False, methods=["delete"], url_path="delete-branch")
    def delete_branch(self, request):
        serializer = BranchDeleteInputSerializer(data=request_input(request, (*QUERY_OR_BODY, "cascade")))
        serializer.is_valid(raise_exception=True)
        services.branch_delete(user=request.user, **serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)
