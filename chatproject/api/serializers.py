"""Input serializers that refuse what they do not expect.

DRF drops unknown keys silently; the API contract answers 400 for an unknown
or read-only field instead, so a client's typo never passes for success. DRF
also turns the JSON number 0 into the text "0" (and a number into a UUID):
text and ids must be JSON strings here. A body with thousands of unknown keys
stops being examined once there are more errors than a response lists.
"""

import copy
import re
from collections.abc import Mapping

from django.conf import settings
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.validators import ProhibitSurrogateCharactersValidator

# CharField covers EmailField, RegexField, SlugField and the model serializers'
# text fields.
STRING_FIELDS = (serializers.CharField, serializers.UUIDField)


class JsonStringsMixin:
    def get_fields(self):
        # DRF deep-copies every declared field for each instance, rebuilding
        # it from its arguments: about 35 µs of a 60 µs validation of
        # get-chat's query. Ids, numbers and flags are bound to a shallow
        # copy instead (binding sets the copy's own attributes; what it
        # shares, its validators and messages, validation only reads).
        if isinstance(self, serializers.ModelSerializer):
            return super().get_fields()  # built from the model, not declared
        return {
            name: _shallow_copy(field) if _is_leaf(field) else copy.deepcopy(field)
            for name, field in self._declared_fields.items()
        }

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            return super().to_internal_value(data)
        errors = {
            key: [ErrorDetail(field.error_messages["invalid"], code="invalid")]
            for key, field in ((key, self.fields.get(key)) for key in data)
            if isinstance(field, STRING_FIELDS) and data[key] is not None and not isinstance(data[key], str)
        }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not errors:
                raise
            # The other fields' errors too, in one answer.
            raise serializers.ValidationError({**exc.detail, **errors}) from None
        if errors:
            raise serializers.ValidationError(errors)
        return value


def _shallow_copy(field):
    clone = object.__new__(type(field))  # copy.copy's generic path costs three times more
    clone.__dict__.update(field.__dict__)
    return clone


# Fields built from their arguments alone. A text field is built anew for
# each request, as its length limit may read a setting when it is made,
# unless it says it would be built the same now (`built_as_now()`).
SHALLOW_COPIED = (serializers.UUIDField, serializers.IntegerField, serializers.BooleanField)


def _is_leaf(field):
    return isinstance(field, SHALLOW_COPIED) or getattr(field, "built_as_now", bool)()


class StrictInputMixin(JsonStringsMixin):
    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            errors = {}
            for key in data:
                field = self.fields.get(key)
                if field is None:
                    errors[key] = [ErrorDetail("Unknown field.", code="unknown_field")]
                elif field.read_only:
                    errors[key] = [ErrorDetail("This field is read-only.", code="read_only")]
                if len(errors) > settings.API_MAX_ERRORS:
                    break  # enough to fill a response
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class StrictSerializer(StrictInputMixin, serializers.Serializer):
    pass


class QuerySerializer(JsonStringsMixin, serializers.Serializer):
    """Query parameters (plus the ids a read may take in its body). A query
    string's empty value counts as given, as in a JSON body: `page_size=` is
    not a number, it does not mean "the default"."""

    def __init__(self, instance=None, data=serializers.empty, **kwargs):
        if hasattr(data, "dict") and hasattr(data, "getlist"):
            data = data.dict()
        super().__init__(instance, data=data, **kwargs)


_SURROGATE = re.compile("[\ud800-\udfff]")


class ProhibitSurrogateCharacters(ProhibitSurrogateCharactersValidator):
    """DRF's check, with its message and code, by a regular expression: DRF's
    looks at each character in Python (0.1 ms for a 2,000-character response,
    5 ms for the 100,000 a message may hold)."""

    def __call__(self, value):
        found = _SURROGATE.search(str(value))
        if found:
            raise ValidationError(self.message.format(code_point=ord(found.group())), code=self.code)


class TextField(serializers.CharField):
    """A CharField that checks long texts for lone surrogates in C."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators = [
            ProhibitSurrogateCharacters() if isinstance(v, ProhibitSurrogateCharactersValidator) else v
            for v in self.validators
        ]
