"""Share routes (the owner's: create, list, delete, fork), the public read
of a link (get-shared), and the page a person opens (/s/<token>)."""

from django.shortcuts import render
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from chatproject.api.openapi import errors
from chatproject.api.pagination import ActivityCursorPagination
from chatproject.api.params import validated
from chatproject.api.throttles import SharedThrottle
from chatproject.errors import NotFound
from chats.representations import chat_representation
from chats.serializers import ChatOutputSerializer

from . import selectors, services
from .serializers import (
    ShareCreateInputSerializer,
    SharedPageSerializer,
    SharedQuerySerializer,
    ShareIdInputSerializer,
    ShareListQuerySerializer,
    ShareOutputSerializer,
    TokenInputSerializer,
)

SHARE_MISSING = ("Share not found.",)
LINK_GONE = (selectors.GONE,)
# A shared conversation is for the person given the link: not for search
# engines, not for the sites its reader goes to next, not for shared caches.
SHARED_HEADERS = {
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private",
}


class NewestFirstPagination(ActivityCursorPagination):
    ordering = ("-created_at", "-id")


def share_url(request, share):
    return request.build_absolute_uri(reverse("shared-page", args=[share.token]))


class ShareViewSet(viewsets.GenericViewSet):
    @extend_schema(
        operation_id="shares_create_share",
        tags=["shares"],
        summary="Share a branch up to a pair",
        description=(
            "A link that shows, without a login, a branch's path from its first pair up to one finished "
            "pair (`response_id`, by default the branch's last finished one): nothing later, no other "
            "branch. Nothing is copied (pairs are never edited), so it costs the same whatever the "
            "chat's length. Hidden chats cannot be shared; a pair still generating, or failed, cannot end "
            "a share (`pair_not_finished`)."
        ),
        request=ShareCreateInputSerializer,
        responses={
            201: ShareOutputSerializer,
            **errors(400, 401, 404, 405, 409, 413, 415, 429, 503, conflicts=["share_limit"],
                     invalid=("response_id", "pair_not_finished", "This pair is still being generated, or its "
                              "generation failed: it cannot end a share.")),
        },
    )
    @action(detail=False, methods=["post"], url_path="create-share")
    def create_share(self, request):
        data = validated(ShareCreateInputSerializer, request)
        share = services.share_create(user=request.user, **data)
        return Response(selectors.share_representation(share, url=share_url(request, share)), status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="shares_list_shares",
        tags=["shares"],
        summary="List your shares",
        description="Your shares, newest first, a page at a time (follow `next` and `previous`); `chat_id` narrows to one chat.",
        parameters=[ShareListQuerySerializer],
        responses={
            200: ShareOutputSerializer(many=True),
            **errors(400, 401, 404, 405, 429, 503, method="GET", json_body=False,
                     invalid=("cursor", "invalid", "Invalid cursor.")),
        },
    )
    @action(detail=False, methods=["get"], url_path="list-shares", pagination_class=NewestFirstPagination)
    def list_shares(self, request):
        query = validated(ShareListQuerySerializer, request, query_or_body=())
        page = self.paginate_queryset(selectors.share_list(user=request.user, chat_id=query.get("chat_id")))
        return self.get_paginated_response(
            [selectors.share_representation(share, url=share_url(request, share)) for share in page]
        )

    @extend_schema(
        operation_id="shares_delete_share",
        tags=["shares"],
        summary="Delete a share",
        description="Its link stops working at once, everywhere. `share_id` in the query string or the body.",
        request=ShareIdInputSerializer,
        responses={
            204: None,
            **errors(400, 401, 404, 405, 413, 415, 429, 503, method="DELETE", missing=SHARE_MISSING,
                     invalid=("share_id", "invalid", "Must be a valid UUID.")),
        },
    )
    @action(detail=False, methods=["delete"], url_path="delete-share")
    def delete_share(self, request):
        data = validated(ShareIdInputSerializer, request, query_or_body=("share_id",))
        services.share_delete(user=request.user, share_id=data["share_id"])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="shares_fork_shared",
        tags=["shares"],
        summary="Continue a shared conversation",
        description=(
            "A new chat of yours, titled as the share, holding copies of the shared pairs on its root "
            "(new ids), active: continue it as any chat. Each call makes a new chat."
        ),
        request=TokenInputSerializer,
        responses={
            201: ChatOutputSerializer,
            **errors(400, 401, 404, 405, 413, 415, 429, 503, missing=LINK_GONE,
                     invalid=("token", "required", "This field is required.")),
        },
    )
    @action(detail=False, methods=["post"], url_path="fork-shared")
    def fork_shared(self, request):
        data = validated(TokenInputSerializer, request, query_or_body=())
        chat = services.shared_fork(user=request.user, token=data["token"])
        body = chat_representation(chat, root_branch_id=chat.active_branch_id, branch_count=1)
        return Response(body, status=status.HTTP_201_CREATED)


class SharedViewSet(viewsets.GenericViewSet):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (SharedThrottle,)

    @extend_schema(
        operation_id="shared_get_shared",
        tags=["shares"],
        summary="Read a shared conversation",
        description=(
            "No login. The shared pairs, oldest first, `offset`/`limit` paging. It names no id, no owner, "
            "no other branch and nothing after the shared pair. Unknown, deleted, expired and disabled "
            "links, and links to a chat or branch since deleted or hidden, are the same 404. Throttled "
            "per client address."
        ),
        auth=[],
        parameters=[SharedQuerySerializer],
        responses={
            200: SharedPageSerializer,
            **errors(400, 404, 405, 429, 503, method="GET", json_body=False, missing=LINK_GONE,
                     invalid=("token", "required", "This field is required.")),
        },
    )
    @action(detail=False, methods=["get"], url_path="get-shared")
    def get_shared(self, request):
        query = validated(SharedQuerySerializer, request, query_or_body=())
        page = selectors.shared_page(token=query["token"], offset=query["offset"], limit=query["limit"])
        return Response(page, headers=SHARED_HEADERS)


PAGE_SIZE = 50


def shared_page(request, token):
    """The page a person opens from a link: readable with no script, every
    text escaped by the template, pages of PAGE_SIZE pairs."""
    throttle = SharedThrottle()
    if not throttle.allow_request(request, None):
        return _page(request, "shares/gone.html", {"throttled": True, "wait": throttle.wait()}, status=429)
    try:
        page_number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page_number = 1
    try:
        page = selectors.shared_page(token=token, offset=(page_number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    except NotFound:
        return _page(request, "shares/gone.html", {}, status=404)
    pages = max(1, -(-page["pair_count"] // PAGE_SIZE))
    context = {
        "page": page,
        "page_number": page_number,
        "pages": pages,
        "previous": page_number - 1 if page_number > 1 else None,
        "next": page_number + 1 if page["has_more"] else None,
        "continue_url": f"{reverse('app')}#fork={token}",
    }
    return _page(request, "shares/shared.html", context)


def _page(request, template, context, status=200):
    response = render(request, template, context, status=status)
    for name, value in SHARED_HEADERS.items():
        response[name] = value
    return response
