"""Branch routes: parse, call a service or selector, render."""

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from chatproject.api.openapi import IDS_IN_BODY_NOTES, errors
from chatproject.api.params import QUERY_OR_BODY, validated
from chatproject.api.reads import CachedRead, CachedReadsMixin
from chatproject.api.streams import EventStreamNegotiationMixin
from chats.representations import annotated_chat_representation, pair_representation
from chats.serializers import ChatOutputSerializer
from generation import services as generations
from generation.responses import branch_generation_response, throttle_generation

from . import selectors, services
from .representations import branch_representation
from .serializers import (
    NEW_BRANCH_RESPONSES,
    BranchCreateInputSerializer,
    BranchDeleteInputSerializer,
    BranchIdInputSerializer,
    BranchListOutputSerializer,
    BranchOutputSerializer,
    BranchRenameInputSerializer,
    ChatIdQuerySerializer,
)

BRANCH_MISSING = ("Chat not found.", "Branch not found in this chat.")


class BranchViewSet(CachedReadsMixin, EventStreamNegotiationMixin, viewsets.GenericViewSet):
    @extend_schema(
        operation_id="branches_create_branch",
        tags=["branches"],
        summary="Fork a branch after a pair",
        description=(
            "Opens a branch that shares the path up to the pair `response_id` (in any branch of the "
            "chat; `null`: before the first pair) and continues on its own, optionally with its "
            "first pair (a `question` with its `response`, or a `question` alone, which the model "
            "answers: how a client *edits* a question). It becomes the active branch unless "
            "`activate` is false. Its parent is the branch that holds that pair. Costs the same "
            "whatever the length of the history. The branch comes back with `messages`, its first "
            "pair or nothing; with a generated pair and `\"stream\": true`, as an event stream that "
            "starts with `branch`."
        ),
        request=BranchCreateInputSerializer,
        responses=NEW_BRANCH_RESPONSES,
    )
    @action(detail=False, methods=["post"], url_path="create-branch")
    def create_branch(self, request):
        data = validated(BranchCreateInputSerializer, request)
        stream = data.pop("stream")
        if "question" in data and "response" not in data:
            throttle_generation(request, self)
            branch, generation = generations.branch_generate(user=request.user, **data)
            return branch_generation_response(branch, generation, stream=stream)
        branch, first = services.branch_create(user=request.user, **data)
        messages = [] if first is None else [pair_representation(first, position=branch.fork_position)]
        # The chat as the write left it, read under its lock: no read after.
        created = branch_representation(branch, active_branch_id=branch.chat.active_branch_id)
        return Response({**created, "messages": messages}, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="branches_get_branches",
        tags=["branches"],
        summary="List a chat's branches",
        description="Every branch of the chat, the root first, then by creation, with the active one named.",
        parameters=[ChatIdQuerySerializer],
        responses={
            200: BranchListOutputSerializer,
            **errors(400, 401, 404, 405, 413, 415, 429, 503, method="GET", notes=IDS_IN_BODY_NOTES),
        },
    )
    @action(detail=False, methods=["get"], url_path="get-branches")
    def get_branches(self, request):
        return self.cached_response(request)

    def get_branches_read(self, request):
        data = validated(ChatIdQuerySerializer, request)
        return CachedRead("branches", selectors.branch_list, {"chat_id": data["chat_id"]})

    @extend_schema(
        operation_id="branches_set_active_branch",
        tags=["branches"],
        summary="Choose the active branch",
        description=(
            "The branch get-chat shows by default and add-message appends to. "
            "Setting the active branch again is a 200 too."
        ),
        request=BranchIdInputSerializer,
        responses={
            200: ChatOutputSerializer,
            **errors(
                400, 401, 404, 405, 409, 413, 415, 429, 503,
                method="PUT",
                invalid=("branch_id", "required", "This field is required."),
                missing=BRANCH_MISSING,
                conflicts=["chat_locked"],
            ),
        },
    )
    @action(detail=False, methods=["put"], url_path="set-active-branch")
    def set_active_branch(self, request):
        data = validated(BranchIdInputSerializer, request)
        chat = services.branch_activate(user=request.user, **data)
        return Response(annotated_chat_representation(chat))

    @extend_schema(
        operation_id="branches_rename_branch",
        tags=["branches"],
        summary="Rename a branch",
        description="Changes the branch's name (up to 200 characters).",
        request=BranchRenameInputSerializer,
        responses={
            200: BranchOutputSerializer,
            **errors(
                400, 401, 404, 405, 409, 413, 415, 429, 503,
                method="PUT",
                invalid=("name", "max_length", "Ensure this field has no more than 200 characters."),
                missing=BRANCH_MISSING,
                conflicts=["chat_locked"],
            ),
        },
    )
    @action(detail=False, methods=["put"], url_path="rename-branch")
    def rename_branch(self, request):
        data = validated(BranchRenameInputSerializer, request)
        branch = services.branch_rename(user=request.user, **data)
        return Response(selectors.branch_written(branch=branch))

    @extend_schema(
        operation_id="branches_delete_branch",
        tags=["branches"],
        summary="Delete a branch",
        description=(
            "Deletes a branch and its pairs; with `cascade=true`, its child branches too. The root "
            "cannot be deleted. When the active branch goes, its parent becomes active. Parameters "
            "in the query string or the body."
        ),
        request=BranchDeleteInputSerializer,
        parameters=[BranchDeleteInputSerializer],
        responses={
            204: None,
            **errors(
                400, 401, 404, 405, 409, 413, 415, 429, 503,
                method="DELETE",
                invalid=("cascade", "invalid", "Must be a valid boolean."),
                missing=BRANCH_MISSING,
                conflicts=["chat_locked", "root_branch", "branch_has_children"],
            ),
        },
    )
    @action(detail=False, methods=["delete"], url_path="delete-branch")
    def delete_branch(self, request):
        data = validated(BranchDeleteInputSerializer, request, (*QUERY_OR_BODY, "cascade"))
        services.branch_delete(user=request.user, **data)
        return Response(status=status.HTTP_204_NO_CONTENT)
