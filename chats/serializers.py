"""Input validation and, for the schema, the shapes of the chat routes.

Output is rendered by `representations.py`; the output serializers here
document it (a test keeps both in step).
"""

from django.conf import settings
from rest_framework import serializers

from chatproject.api.serializers import StrictSerializer

from .models import ChatStatus


class MessageTextField(serializers.CharField):
    def __init__(self, **kwargs):
        # Text is stored exactly as sent: no trimming.
        super().__init__(max_length=settings.MAX_MESSAGE_CHARS, trim_whitespace=False, **kwargs)


class PageLimitField(serializers.IntegerField):
    """Page size: default 100; above the maximum it is read as the maximum."""

    MAXIMUM = 1000

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "How many pairs: default 100; above 1000 is read as 1000.")
        super().__init__(min_value=1, required=False, default=100, **kwargs)

    def to_internal_value(self, data):
        return min(super().to_internal_value(data), self.MAXIMUM)


def validate_question_and_response(attrs):
    """The first pair of a chat or branch: both parts or neither."""
    has_question, has_response = "question" in attrs, "response" in attrs
    if has_question != has_response:
        missing = "response" if has_question else "question"
        raise serializers.ValidationError(
            {missing: [serializers.ErrorDetail("Give both question and response, or neither.", code="required")]}
        )
    return attrs


class ChatCreateInputSerializer(StrictSerializer):
    title = serializers.CharField(max_length=200, required=False)
    question = MessageTextField(required=False)
    response = MessageTextField(required=False)

    def validate(self, attrs):
        return validate_question_and_response(attrs)


class ChatIdInputSerializer(StrictSerializer):
    chat_id = serializers.UUIDField()


class ChatUpdateInputSerializer(StrictSerializer):
    chat_id = serializers.UUIDField()
    title = serializers.CharField(max_length=200)


class PageQuerySerializer(serializers.Serializer):
    chat_id = serializers.UUIDField()
    branch_id = serializers.UUIDField(required=False, help_text="The branch to read; default: the chat's active branch.")
    limit = PageLimitField()
    before = serializers.UUIDField(required=False, help_text="A response_id on the path: the page ends just before it.")


class ChatListQuerySerializer(serializers.Serializer):
    search = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="Only chats whose title contains this (any case)."
    )
    cursor = serializers.CharField(
        required=False, allow_blank=True, help_text="Where a page starts: taken from the `next` or `previous` link."
    )
    page_size = serializers.IntegerField(
        min_value=1, required=False, default=20, help_text="Chats per page: default 20; above 100 is read as 100."
    )


class MessageAddInputSerializer(StrictSerializer):
    chat_id = serializers.UUIDField()
    branch_id = serializers.UUIDField(required=False)
    question = MessageTextField()
    response = MessageTextField()


class ChatOutputSerializer(serializers.Serializer):
    chat_id = serializers.UUIDField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=ChatStatus.choices)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    active_branch_id = serializers.UUIDField()
    root_branch_id = serializers.UUIDField()
    branch_count = serializers.IntegerField()


class PairOutputSerializer(serializers.Serializer):
    response_id = serializers.UUIDField()
    question = serializers.CharField()
    response = serializers.CharField()
    timestamp = serializers.DateTimeField()
    branches = serializers.ListField(child=serializers.UUIDField(), help_text="Branches forking right after this pair.")
    branch_id = serializers.UUIDField(help_text="The branch that holds this pair.")
    position = serializers.IntegerField(help_text="0-based place in the path being read.")


class ChatWithMessagesOutputSerializer(ChatOutputSerializer):
    messages = PairOutputSerializer(many=True)


class MessagesPageOutputSerializer(serializers.Serializer):
    chat_id = serializers.UUIDField()
    branch_id = serializers.UUIDField()
    messages = PairOutputSerializer(many=True)
    has_more = serializers.BooleanField(help_text="Older pairs exist on this path.")


class ChatPageOutputSerializer(ChatOutputSerializer):
    branch_id = serializers.UUIDField(help_text="The branch shown.")
    messages = PairOutputSerializer(many=True)
    has_more = serializers.BooleanField(help_text="Older pairs exist on this path.")
