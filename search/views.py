"""The search route: parse, call the selector, render."""

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from chatproject.api.openapi import errors
from chatproject.api.params import validated
from chatproject.errors import NoSearchTerms

from . import selectors
from .serializers import SearchPageSerializer, SearchQuerySerializer

EXAMPLE = {
    "results": [
        {
            "chat_id": "6f1c2a7e-3b4d-4e8f-9a01-2b3c4d5e6f70",
            "chat_title": "Trip to Lisbon",
            "branch_id": "0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b",
            "branch_name": "by train",
            "response_id": "d2c1b0a9-8f7e-4d6c-5b4a-392817161514",
            "position": 3,
            "status": "complete",
            "timestamp": "2026-11-28T09:14:03.512000Z",
            "matched": ["question", "response"],
            "snippet": {
                "question": {"text": "Is the night train from Madrid to Lisbon still running?", "highlights": [[10, 15]]},
                "response": {
                    "text": "… no longer runs: since 2020 the trains stop at the border, so most people take the "
                    "day train to Badajoz and a bus from there …",
                    "highlights": [[40, 46], [92, 97]],
                },
            },
        }
    ],
    "next_cursor": "WzAuMDc1OTkxMjYsIjIwMjYtMTEtMjhUMDk6MTQ6MDMuNTEyKzAwOjAwIiw0Ml0",
}


class SearchViewSet(viewsets.GenericViewSet):
    @extend_schema(
        operation_id="search_search_messages",
        tags=["search"],
        summary="Find pairs by their words",
        description=(
            "Every finished pair of every chat and branch you own whose question or response holds the "
            "query's words, best matches first, the newest first among equals; a page at a time (pass "
            "`next_cursor` as `cursor`). Each result names the branch that holds the pair and its "
            "place in that branch's path, so opening that branch shows it; a pair that several "
            "branches inherit is one result. `matched` and `snippet` say where the words are: plain "
            "text with `highlights` to mark. Hidden chats and pairs still being generated (or failed) "
            "are not found."
        ),
        parameters=[SearchQuerySerializer],
        responses={
            200: SearchPageSerializer,
            **errors(
                400, 401, 404, 405, 429, 503,
                method="GET",
                json_body=False,
                invalid=("q", "no_search_terms", NoSearchTerms.default_detail),
            ),
        },
        examples=[OpenApiExample("A page of results", value=EXAMPLE, response_only=True)],
    )
    @action(detail=False, methods=["get"], url_path="search-messages")
    def search_messages(self, request):
        data = validated(SearchQuerySerializer, request, query_or_body=())
        page = selectors.search_messages(
            user=request.user,
            q=data["q"],
            chat_id=data.get("chat_id"),
            cursor=data.get("cursor") or None,
            page_size=data.get("page_size") or settings.SEARCH_PAGE_SIZE,
        )
        return Response(page)
