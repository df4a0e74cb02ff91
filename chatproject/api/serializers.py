"""Input serializers that refuse what they do not expect.

DRF drops unknown keys silently; the API contract answers 400 for an unknown
or read-only field instead, so a client's typo never passes for success.
"""

from collections.abc import Mapping

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail


class StrictInputMixin:
    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            errors = {}
            for key in data:
                field = self.fields.get(key)
                if field is None:
                    errors[key] = [ErrorDetail("Unknown field.", code="unknown_field")]
                elif field.read_only:
                    errors[key] = [ErrorDetail("This field is read-only.", code="read_only")]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class StrictSerializer(StrictInputMixin, serializers.Serializer):
    pass
