"""JSON parsing with the body size limit enforced.

DRF reads the body as a stream, so Django's `DATA_UPLOAD_MAX_MEMORY_SIZE` check
(done only in `request.body`) never fires for API requests; this parser applies
the same limit and answers 413.
"""

import io

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from chatproject.errors import PayloadTooLarge


class LimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise PayloadTooLarge()
        try:
            return super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            # A kilobyte of "[[[[…" is valid JSON too deep for Python's parser.
            raise ParseError("JSON parse error - nested too deeply.") from None
