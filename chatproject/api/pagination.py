"""Keyset (cursor) pagination: the same cost on page 1 and page 1,000."""

import datetime

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination


class ActivityCursorPagination(CursorPagination):
    """Most recently active first; `page_size` up to 100."""

    ordering = ("-updated_at", "-id")
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def decode_cursor(self, request):
        # DRF answers a malformed cursor with 404; it is bad input, so 400.
        # The position goes into a query: only timestamps like those we issue pass.
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise _invalid_cursor() from None
        if cursor is not None and cursor.position is not None and not _aware_datetime(cursor.position):
            raise _invalid_cursor()
        return cursor


def _invalid_cursor():
    return ValidationError({"cursor": ["Invalid cursor."]}, code="invalid")


def _aware_datetime(text):
    try:
        return datetime.datetime.fromisoformat(text).tzinfo is not None
    except ValueError:
        return False
