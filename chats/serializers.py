"""Input validation and, for the schema, the shapes of the chat routes.

Output is rendered by `representations.py`; the output serializers here
document it (a test keeps both in step).
"""

from django.conf import settings
from rest_framework import serializers

from chatproject.api.serializers import QuerySerializer, StrictSerializer

from .models import ChatStatus


class MessageTextField(serializers.CharField):
    def __init__(self, **kwargs):
        # Text is stored exactly as sent: no trimming.
        super().__init__(max_length=settings.MAX_MESSAGE_CHARS, trim_whitespace=False, **kwargs)


class TitleField(serializers.CharField):
    """A chat's title or a branch's name: at most `MAX_TITLE_CHARS` characters,
    the setting read at validation time (the schema shows its value at start)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.max_length = settings.MAX_TITLE_CHARS

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if len(value) > settings.MAX_TITLE_CHARS:
            self.fail("max_length", max_length=settings.MAX_TITLE_CHARS)
        return value


class PageLimitField(serializers.IntegerField):
    """Page size: default 100; above the maximum it is read as the maximum."""

    MAXIMUM = 1000

    def __init__(self, **kwargs):
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
    title = TitleField(required=False)
    question = MessageTextField(required=False)
    response = MessageTextField(required=False)

    def validate(self, attrs):
        return validate_question_and_response(attrs)


class ChatIdInputSerializer(StrictSerializer):
    chat_id = serializers.UUIDField()


class ChatUpdateInputSerializer(StrictSerializer):
    chat_id = serializers.UUIDField()
    title = TitleField()


class PageQuerySerializer(QuerySerializer):
    chat_id = serializers.UUIDField()
    branch_id = serializers.UUIDField(required=False)
    limit = PageLimitField()
    before = serializers.UUIDField(required=False, help_text="A response_id on the path: the page ends just before it.")


class ChatListQuerySerializer(QuerySerializer):
    search = TitleField(required=False, allow_blank=True)
    cursor = serializers.CharField(required=False, allow_blank=True)
    page_size = serializers.IntegerField(min_value=1, required=False, help_text="Default 20; above 100 is read as 100.")


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
