"""JSON parsing with the body size limit enforced, UTF-8 only.

DRF reads the body as a stream, so Django's `DATA_UPLOAD_MAX_MEMORY_SIZE` check
(done only in `request.body`) never fires for API requests; this parser applies
the same limit and answers 413. JSON is UTF-8 (RFC 8259): a body declared in
another charset is refused with 415 rather than decoded as that charset.
"""

import io

from django.conf import settings
from django.utils.http import parse_header_parameters
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import JSONParser

from chatproject.errors import PayloadTooLarge

UTF8_NAMES = {"utf-8", "utf8"}


# The one route whose bodies may be larger than Django's limit.
IMPORT_PATH = "/api/v1/chats/import-chats"
# A multipart body's boundaries and part headers around the file.
MULTIPART_ENVELOPE_BYTES = 16 * 1024


def body_limit(path_info):
    """The most bytes a request body to this path may have: Django's limit,
    except on the import route, which takes files up to `IMPORT_MAX_BYTES`
    (plus room for a multipart envelope)."""
    if path_info == IMPORT_PATH:
        return settings.IMPORT_MAX_BYTES + MULTIPART_ENVELOPE_BYTES
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class LimitedJSONParser(JSONParser):
    def limit(self):
        return settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    def parse(self, stream, media_type=None, parser_context=None):
        charset = parse_header_parameters(media_type or "")[1].get("charset")
        if charset is not None and charset.lower() not in UTF8_NAMES:
            raise UnsupportedMediaType(media_type, detail=f'Unsupported charset "{charset}": JSON must be UTF-8.')
        limit = self.limit()
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise PayloadTooLarge(limit=limit)
        try:
            return super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            # A kilobyte of "[[[[…" is valid JSON too deep for Python's parser.
            raise ParseError("JSON parse error - nested too deeply.") from None


class ImportJSONParser(LimitedJSONParser):
    """A JSON import body, up to `IMPORT_MAX_BYTES`."""

    def limit(self):
        return settings.IMPORT_MAX_BYTES
