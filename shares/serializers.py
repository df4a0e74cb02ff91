"""Share routes' input, and for the schema their answers (built as plain
dicts in `selectors`)."""

from rest_framework import serializers

from chatproject.api.serializers import QuerySerializer, StrictSerializer


# Far beyond any chat's length, and within what JSON numbers carry exactly.
MAX_POSITION = 2**31 - 1


class ShareCreateInputSerializer(StrictSerializer):
    chat_id = serializers.UUIDField()
    branch_id = serializers.UUIDField(required=False, help_text="The branch whose path is shared; default: the active one.")
    response_id = serializers.UUIDField(
        required=False, help_text="The last pair shown, on that branch's path; default: its last finished pair."
    )
    expires_in_days = serializers.IntegerField(
        min_value=1, max_value=365, required=False, help_text="The link stops working after this many days; default: never."
    )


class ShareIdInputSerializer(StrictSerializer):
    share_id = serializers.UUIDField()


class ShareListQuerySerializer(QuerySerializer):
    chat_id = serializers.UUIDField(required=False, help_text="Only this chat's shares.")
    cursor = serializers.CharField(required=False, allow_blank=True, help_text="Where a page starts: from `next` or `previous`.")
    page_size = serializers.IntegerField(min_value=1, required=False, help_text="Default 20; above 100 is read as 100.")


class TokenInputSerializer(StrictSerializer):
    token = serializers.CharField(max_length=64, help_text="The share's token, the last part of its link.")


class SharedQuerySerializer(QuerySerializer):
    token = serializers.CharField(max_length=64, help_text="The share's token, the last part of its link.")
    offset = serializers.IntegerField(
        min_value=0, max_value=MAX_POSITION, required=False, default=0, help_text="The first position shown."
    )
    limit = serializers.IntegerField(
        min_value=1, required=False, default=100, help_text="How many pairs: default 100; above 1000 is read as 1000."
    )

    def validate_limit(self, value):
        return min(value, 1000)


class ShareOutputSerializer(serializers.Serializer):
    share_id = serializers.UUIDField()
    token = serializers.CharField()
    url = serializers.URLField(help_text="The page that shows it: /s/<token> on this host.")
    chat_id = serializers.UUIDField()
    branch_id = serializers.UUIDField()
    response_id = serializers.UUIDField(help_text="The last pair shown.")
    pair_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)


class SharedPairSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    question = serializers.CharField()
    response = serializers.CharField()
    timestamp = serializers.DateTimeField()
    model = serializers.CharField(allow_null=True)


class SharedPageSerializer(serializers.Serializer):
    title = serializers.CharField()
    shared_at = serializers.DateTimeField()
    pair_count = serializers.IntegerField()
    offset = serializers.IntegerField()
    messages = SharedPairSerializer(many=True)
    has_more = serializers.BooleanField()
