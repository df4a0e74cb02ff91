"""Input of export-chat and, for the schema, the shapes of both routes."""

from rest_framework import serializers

from chatproject.api.serializers import QuerySerializer

from .exports import FORMATS

SKIP_CODES = ("cycle", "missing_parent", "several_roots", "no_pairs", "too_large", "already_imported")


class ExportQuerySerializer(QuerySerializer):
    chat_id = serializers.UUIDField()
    format = serializers.ChoiceField(
        choices=FORMATS,
        default="json",
        help_text=(
            "`json` (default): the whole tree, every branch and pair, which import-chats reads back; `chatgpt`: "
            "the same tree as a ChatGPT conversations.json holding one conversation; `markdown`: the active "
            "branch's path, for reading."
        ),
    )


class ImportFileSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A branching-chat export or a ChatGPT conversations.json.")


class ImportedChatSerializer(serializers.Serializer):
    chat_id = serializers.UUIDField()
    title = serializers.CharField()
    branches = serializers.IntegerField(help_text="How many branches the chat has, the root included.")
    pairs = serializers.IntegerField()
    dropped_parts = serializers.IntegerField(help_text="Parts of messages that were not text (images, files, code runs), left out.")


class SkippedConversationSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The conversation's place in the file, from 0.")
    title = serializers.CharField(allow_null=True)
    code = serializers.ChoiceField(choices=SKIP_CODES)
    detail = serializers.CharField()


class ImportResultSerializer(serializers.Serializer):
    imported = ImportedChatSerializer(many=True)
    skipped = SkippedConversationSerializer(many=True)
