"""Input of the generation routes of their own (the generating forms of
create-chat, add-message and create-branch are validated by their apps)."""

from rest_framework import serializers

from chatproject.api.serializers import StrictSerializer
from chats.serializers import PairIdInputSerializer, StreamField

from . import events


class RegenerateInputSerializer(StrictSerializer):
    chat_id = serializers.UUIDField()
    response_id = serializers.UUIDField(help_text="The pair to answer again.")
    activate = serializers.BooleanField(required=False, default=True)
    stream = StreamField()


class StreamQuerySerializer(PairIdInputSerializer):
    after = serializers.CharField(
        required=False,
        help_text=(
            "The `id` of the last event received (as the `Last-Event-ID` header, which is read when "
            "this is absent): the stream goes on from the event after it, without `pair`."
        ),
    )

    def validate_after(self, value):
        try:
            return events.parse_position(value)
        except ValueError:
            raise serializers.ValidationError("Not an event id of this stream.", code="invalid") from None
