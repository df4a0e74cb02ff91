"""Request input shared by every route.

The original design passes `chat_id` and `branch_id` in the query string;
every route also takes them in the JSON body (reads included). Given in both
places they must agree.
"""

import uuid
from collections.abc import Mapping

from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.permissions import SAFE_METHODS

QUERY_OR_BODY = ("chat_id", "branch_id")


def request_input(request, query_or_body=QUERY_OR_BODY):
    """The input of a request as one mapping: for reads, the query string plus
    the id parameters of a JSON body; for writes, the JSON body plus the id
    parameters of the query string."""
    if request.method in SAFE_METHODS:
        primary, secondary = request.query_params.dict(), request.data
        if not isinstance(secondary, Mapping):
            secondary = {}
    else:
        primary, secondary = request.data, request.query_params
        if not isinstance(primary, Mapping):
            return primary  # the serializer answers "expected a dictionary"
    merged = dict(primary)
    errors = {}
    for name in query_or_body:
        if name not in secondary:
            continue
        value = secondary[name]
        if name in merged and not _same(merged[name], value):
            errors[name] = [ErrorDetail("The query string and the body give different values.", code="mismatch")]
        merged[name] = value
    if errors:
        raise ValidationError(errors)
    return merged


def validated(serializer_class, request, query_or_body=QUERY_OR_BODY):
    """The request's input (`request_input`) validated by `serializer_class`;
    a 400 in the error shape otherwise."""
    serializer = serializer_class(data=request_input(request, query_or_body))
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _same(first, second):
    """Equal as UUIDs when both are (any spelling), else equal as given."""
    try:
        return uuid.UUID(str(first)) == uuid.UUID(str(second))
    except ValueError:
        return str(first) == str(second)
