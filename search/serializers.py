"""search-messages: its query parameters and, for the schema, its answer
(built as plain dicts in `selectors`)."""

from django.conf import settings
from rest_framework import serializers

from chatproject.api.serializers import QuerySerializer
from chats.content_repository import COMPLETE, INTERRUPTED

MAX_QUERY_CHARS = 200


class SearchQuerySerializer(QuerySerializer):
    q = serializers.CharField(
        max_length=MAX_QUERY_CHARS,
        trim_whitespace=True,
        help_text=(
            'Words to find, as in a web search: `sea boat` (both), `"open sea"` (the phrase), '
            "`sea -storm` (without storm), `sea or ocean`. Words match their other forms "
            "(`sailing` finds `sail`). 1 to 200 characters."
        ),
    )
    chat_id = serializers.UUIDField(required=False, help_text="Only this chat's pairs.")
    cursor = serializers.CharField(
        required=False, allow_blank=True, help_text="Where a page starts: the `next_cursor` of the page before."
    )
    page_size = serializers.IntegerField(
        min_value=1, required=False, help_text="Results per page: default 20; above 50 is read as 50."
    )

    def validate_page_size(self, value):
        return min(value, settings.SEARCH_MAX_PAGE_SIZE)


class SnippetSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="Plain text, about 200 characters around the first match.")
    highlights = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField(), min_length=2, max_length=2),
        help_text="The matches, as [start, end) offsets in code points into `text`.",
    )


class SnippetsSerializer(serializers.Serializer):
    question = SnippetSerializer(required=False)
    response = SnippetSerializer(required=False)


class SearchResultSerializer(serializers.Serializer):
    chat_id = serializers.UUIDField()
    chat_title = serializers.CharField()
    branch_id = serializers.UUIDField(help_text="The branch that holds the pair: open it to see the pair.")
    branch_name = serializers.CharField()
    response_id = serializers.UUIDField()
    position = serializers.IntegerField(help_text="The pair's place in that branch's path, from 0.")
    status = serializers.ChoiceField(choices=[COMPLETE, INTERRUPTED])
    timestamp = serializers.DateTimeField()
    matched = serializers.ListField(
        child=serializers.ChoiceField(choices=["question", "response"]), help_text="The fields that hold a match."
    )
    snippet = SnippetsSerializer(help_text="A snippet of each field that matched.")


class SearchPageSerializer(serializers.Serializer):
    results = SearchResultSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True, help_text="The `cursor` of the next page; null on the last.")
