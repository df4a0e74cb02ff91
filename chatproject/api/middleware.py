"""Request bodies sent with `Transfer-Encoding: chunked`.

Django reads a body only as far as `Content-Length` says; a chunked request has
none, so its body would pass for empty and a view would act on a request it
never read. gunicorn decodes the chunks and ends the stream at the body's end
(it says so with `wsgi.input_terminated`): such a body is read here, within the
size limit. A server that hands over the raw stream (runserver) gets a 411.
"""

import io

from django.http import JsonResponse

from chatproject.errors import error_body

from .parsers import body_limit

READ_SIZE = 64 * 1024


class ChunkedBodyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        meta = request.META
        chunked = "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not meta.get("CONTENT_LENGTH"):
            if not meta.get("wsgi.input_terminated"):
                return _error(
                    411,
                    "length_required",
                    "A request body needs a Content-Length header; chunked bodies are not accepted here.",
                )
            limit = body_limit(request.path_info)
            body = _read_at_most(meta["wsgi.input"], limit + 1)
            if len(body) > limit:
                return _error(413, "payload_too_large", f"Request body is larger than {limit} bytes.")
            meta["CONTENT_LENGTH"] = str(len(body))
            request._stream = io.BytesIO(body)
        return self.get_response(request)


def _read_at_most(stream, size):
    parts, total = [], 0
    while total < size:
        part = stream.read(min(READ_SIZE, size - total))
        if not part:
            break
        parts.append(part)
        total += len(part)
    return b"".join(parts)


def _error(status, code, detail):
    return JsonResponse(error_body(status=status, code=code, detail=detail), status=status)
