"""The error body, with a bounded number of errors whatever the request held."""

from django.conf import settings
from drf_standardized_errors.formatter import ExceptionFormatter
from drf_standardized_errors.types import Error


class BoundedExceptionFormatter(ExceptionFormatter):
    def get_errors(self):
        errors = super().get_errors()
        limit = settings.API_MAX_ERRORS
        if len(errors) <= limit:
            return errors
        return [
            *errors[: limit - 1],
            Error(code="too_many_errors", detail=f"Only the first {limit - 1} errors are listed.", attr=None),
        ]
