"""The domain errors services raise, each with a status and a stable code.

Kept apart from the exception handler: this module must import nothing of
DRF's views, since parsers and the content repository load before them.
"""

from django.conf import settings
from rest_framework import exceptions, status


class DomainError(exceptions.APIException):
    """Base of the errors services raise."""


class NotFound(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    default_detail = "Not found."
    default_code = "not_found"


class Conflict(DomainError):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


class PayloadTooLarge(DomainError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"

    def __init__(self):
        super().__init__(f"Request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.")


class ServiceUnavailable(DomainError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "A data store is unavailable. Try again later."
    default_code = "service_unavailable"


def error_body(*, error_type, code, detail, attr=None):
    """The error shape, for the few responses made outside DRF (404/500 pages)."""
    return {"type": error_type, "errors": [{"code": code, "detail": detail, "attr": attr}]}
