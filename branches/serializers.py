"""Input validation and, for the schema, the shapes of the branch routes."""

from rest_framework import serializers

from chatproject.api.openapi import generation_responses
from chatproject.api.serializers import QuerySerializer, StrictSerializer
from chats.serializers import (
    MessageTextField,
    PairOutputSerializer,
    StreamField,
    TitleField,
    validate_question_and_response,
)


class BranchCreateInputSerializer(StrictSerializer):
    chat_id = serializers.UUIDField()
    response_id = serializers.UUIDField(
        allow_null=True, help_text="The pair to branch after, in any branch of the chat; null: before the first pair."
    )
    name = TitleField(required=False)
    question = MessageTextField(required=False)
    response = MessageTextField(required=False)
    activate = serializers.BooleanField(required=False, default=True)
    stream = StreamField()

    def validate(self, attrs):
        return validate_question_and_response(attrs)


class ChatIdQuerySerializer(QuerySerializer):
    chat_id = serializers.UUIDField()


class BranchIdInputSerializer(StrictSerializer):
    chat_id = serializers.UUIDField()
    branch_id = serializers.UUIDField()


class BranchRenameInputSerializer(BranchIdInputSerializer):
    name = TitleField()


class BranchDeleteInputSerializer(BranchIdInputSerializer):
    cascade = serializers.BooleanField(required=False, default=False)


class BranchOutputSerializer(serializers.Serializer):
    branch_id = serializers.UUIDField()
    chat_id = serializers.UUIDField()
    name = serializers.CharField()
    parent_branch_id = serializers.UUIDField(allow_null=True)
    fork_response_id = serializers.UUIDField(allow_null=True, help_text="The pair it forks after; null: before the first.")
    fork_position = serializers.IntegerField(help_text="How many pairs it inherits.")
    message_count = serializers.IntegerField(help_text="Its own pairs.")
    created_at = serializers.DateTimeField()
    is_active = serializers.BooleanField()
    is_root = serializers.BooleanField()


class BranchWithMessagesOutputSerializer(BranchOutputSerializer):
    messages = PairOutputSerializer(many=True, help_text="Its first pair, or empty.")


class BranchListOutputSerializer(serializers.Serializer):
    chat_id = serializers.UUIDField()
    active_branch_id = serializers.UUIDField()
    branches = BranchOutputSerializer(many=True)


# The responses of the routes that make a branch whose first pair may be
# generated: create-branch and regenerate.
NEW_BRANCH_RESPONSES = generation_responses(
    BranchWithMessagesOutputSerializer,
    400, 401, 404, 405, 409, 413, 415, 503,
    invalid=("response_id", "required", "This field is required."),
    missing=("Chat not found.", "No pair with this response_id in this chat."),
    conflicts=["chat_locked"],
)
