"""Keyset (cursor) pagination: the same cost on page 1 and page 1,000."""

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
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError({"cursor": ["Invalid cursor."]}, code="invalid") from None
