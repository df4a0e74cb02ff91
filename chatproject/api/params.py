"""Request input shared by every route.

The original design passes `chat_id` and `branch_id` in the query string;
every route also takes them in the JSON body. Given in both places they must
agree.
"""

from collections.abc import Mapping

from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.permissions import SAFE_METHODS

QUERY_OR_BODY = ("chat_id", "branch_id")


def request_input(request, query_or_body=QUERY_OR_BODY):
    """The input of a request as one mapping: the query string for reads; for
    writes the JSON body, plus the id parameters given in the query string."""
    if request.method in SAFE_METHODS:
        return request.query_params.dict()
    data = request.data
    if not isinstance(data, Mapping):
        return data  # the serializer answers "expected a dictionary"
    merged = dict(data)
    errors = {}
    for name in query_or_body:
        if name not in request.query_params:
            continue
        value = request.query_params[name]
        if name in merged and str(merged[name]).strip().lower() != value.strip().lower():
            errors[name] = [ErrorDetail("The query string and the body give different values.", code="mismatch")]
        merged[name] = value
    if errors:
        raise ValidationError(errors)
    return merged
