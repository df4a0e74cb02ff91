"""Input validation and, for the schema, the shapes of the chat routes.

Output is rendered by `representations.py`; the output serializers here
document it (a test keeps both in step).
"""

from django.conf import settings
from rest_framework import serializers

from chatproject.api.serializers import QuerySerializer, StrictSerializer, TextField
from chatproject.errors import GENERATION_ENDING_CODES

from . import content_repository
from .models import ChatStatus


class MessageTextField(TextField):
    def __init__(self, **kwargs):
        # Text is stored exactly as sent: no trimming.
        super().__init__(max_length=settings.MAX_MESSAGE_CHARS, trim_whitespace=False, **kwargs)

    def built_as_now(self):
        """Whether building the field now would give this one (a serializer
        then takes a shallow copy instead of building it anew)."""
        return self.max_length == settings.MAX_MESSAGE_CHARS


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
        kwargs.setdefault("help_text", "How many pairs: default 100; above 1000 is read as 1000.")
        super().__init__(min_value=1, required=False, default=100, **kwargs)

    def to_internal_value(self, data):
        return min(super().to_internal_value(data), self.MAXIMUM)


def validate_question_and_response(attrs):
    """The first pair of a chat or branch: a question and its response, a
    question alone (the model answers it), or neither; never a response alone."""
    if "response" in attrs and "question" not in attrs:
        raise serializers.ValidationError(
            {"question": [serializers.ErrorDetail("A response needs its question.", code="required")]}
        )
    return attrs


class StreamField(serializers.BooleanField):
    def __init__(self, **kwargs):
        super().__init__(
            required=False,
            default=False,
            help_text="With a generated response: answer `200 text/event-stream` with the events "
            "`pair`, `delta`…, then `done` or `error`, instead of waiting for the whole answer.",
            **kwargs,
        )


class ChatCreateInputSerializer(StrictSerializer):
    title = TitleField(required=False)
    question = MessageTextField(required=False)
    response = MessageTextField(required=False)
    stream = StreamField()

    def validate(self, attrs):
        return validate_question_and_response(attrs)


class ChatIdInputSerializer(StrictSerializer):
    chat_id = serializers.UUIDField()


class ChatUpdateInputSerializer(StrictSerializer):
    chat_id = serializers.UUIDField()
    title = TitleField()


class PageQuerySerializer(QuerySerializer):
    chat_id = serializers.UUIDField()
    branch_id = serializers.UUIDField(required=False, help_text="The branch to read; default: the chat's active branch.")
    limit = PageLimitField()
    before = serializers.UUIDField(required=False, help_text="A response_id on the path: the page ends just before it.")


class ChatListQuerySerializer(QuerySerializer):
    search = TitleField(required=False, allow_blank=True, help_text="Only chats whose title contains this (any case).")
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
    response = MessageTextField(required=False, help_text="Omitted: the model answers (the pair is generated).")
    stream = StreamField()


class PairIdInputSerializer(StrictSerializer):
    chat_id = serializers.UUIDField()
    response_id = serializers.UUIDField()


class ChatOutputSerializer(serializers.Serializer):
    chat_id = serializers.UUIDField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=ChatStatus.choices)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    active_branch_id = serializers.UUIDField()
    root_branch_id = serializers.UUIDField()
    branch_count = serializers.IntegerField()


class UsageOutputSerializer(serializers.Serializer):
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()


class PairOutputSerializer(serializers.Serializer):
    response_id = serializers.UUIDField()
    question = serializers.CharField()
    response = serializers.CharField()
    timestamp = serializers.DateTimeField()
    branches = serializers.ListField(child=serializers.UUIDField(), help_text="Branches forking right after this pair.")
    branch_id = serializers.UUIDField(help_text="The branch that holds this pair.")
    position = serializers.IntegerField(help_text="0-based place in the path being read.")
    status = serializers.ChoiceField(
        choices=content_repository.PAIR_STATUSES,
        help_text="`generating` while the model answers (the response is the text so far); a response the "
        "client sent is `complete`.",
    )
    model = serializers.CharField(allow_null=True, help_text="The model that generated the response; null when the client sent it.")
    finish_reason = serializers.ChoiceField(
        choices=["stop", "length", "interrupted", "error"], allow_null=True, help_text="Why the generation ended."
    )
    usage = UsageOutputSerializer(allow_null=True, help_text="Tokens of the generation, when the model reports them.")
    error_code = serializers.ChoiceField(
        choices=GENERATION_ENDING_CODES,
        allow_null=True,
        help_text="For a generation that ended in an error (`failed`, or `interrupted` with `finish_reason` "
        "`error`): the code of that error, as the request or the stream's `error` event gave it; null "
        "otherwise, and when the reason is not known (a generation whose process died).",
    )


class PagePairOutputSerializer(PairOutputSerializer):
    """A pair as a page of a path shows it (get-chat, get-messages)."""

    alternatives = serializers.ListField(
        child=serializers.UUIDField(),
        help_text="The branches that each show a pair of their own at this position after the same history, "
        "this pair's branch among them, oldest first: the alternatives a reader switches between "
        "(\"2 of 3\"); activate one (set-active-branch) to read its pair here. One entry: no alternatives. "
        "Forks before the first pair count too. Only pages carry it.",
    )


class ChatWithMessagesOutputSerializer(ChatOutputSerializer):
    messages = PairOutputSerializer(many=True)


class MessagesPageOutputSerializer(serializers.Serializer):
    chat_id = serializers.UUIDField()
    branch_id = serializers.UUIDField()
    messages = PagePairOutputSerializer(many=True)
    has_more = serializers.BooleanField(help_text="Older pairs exist on this path.")


class ChatPageOutputSerializer(ChatOutputSerializer):
    branch_id = serializers.UUIDField(help_text="The branch shown.")
    messages = PagePairOutputSerializer(many=True)
    has_more = serializers.BooleanField(help_text="Older pairs exist on this path.")
