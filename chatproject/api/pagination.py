"""Keyset (cursor) pagination: the same cost on page 1 and page 1,000."""

import base64
import binascii
import datetime
from urllib import parse

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
        # DRF reads a cursor that decodes to no known token (`AAAA`) as the
        # first page; a cursor we issued always carries one.
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded and not _issued_shape(encoded):
            raise _invalid_cursor()
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise _invalid_cursor() from None
        if cursor is not None and cursor.position is not None and not _aware_datetime(cursor.position):
            raise _invalid_cursor()
        return cursor


def _invalid_cursor():
    return ValidationError({"cursor": ["Invalid cursor."]}, code="invalid")


def _issued_shape(encoded):
    try:
        querystring = base64.b64decode(encoded.encode("ascii"), validate=True).decode("ascii")
        tokens = parse.parse_qs(querystring, keep_blank_values=True, strict_parsing=True)
    except (UnicodeError, binascii.Error, ValueError):
        return False
    return bool(tokens) and set(tokens) <= {"o", "r", "p"}


def _aware_datetime(text):
    try:
        return datetime.datetime.fromisoformat(text).tzinfo is not None
    except ValueError:
        return False
