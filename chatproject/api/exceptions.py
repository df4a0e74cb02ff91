"""The exception handler: one error format for the whole API.

Installed through drf-standardized-errors, it renders the service's own errors
(`chatproject.errors`), DRF's errors, simplejwt's token errors, Django
validation errors and PostgreSQL outages as `{type, errors: [{code, detail,
attr}]}`.
"""

import logging

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from drf_standardized_errors import handler
from rest_framework import exceptions
from rest_framework.fields import get_error_detail
from rest_framework_simplejwt.exceptions import (
    AuthenticationFailed as JWTAuthenticationFailed,
)

from chatproject.errors import DatabaseUnavailable, DomainError, PayloadTooLarge

logger = logging.getLogger(__name__)


class ExceptionHandler(handler.ExceptionHandler):
    def convert_known_exceptions(self, exc):
        if isinstance(exc, RequestDataTooBig):
            exc = PayloadTooLarge()
        if isinstance(exc, (OperationalError, InterfaceError)):
            logger.warning("PostgreSQL unavailable: %s", exc)
            exc = DatabaseUnavailable()
        if isinstance(exc, DomainError):
            return _api_exception(exc)
        if isinstance(exc, SuspiciousOperation):
            # Too many fields, a malformed header…: the request is at fault.
            return exceptions.ParseError(str(exc) or "Malformed request.")
        if isinstance(exc, JWTAuthenticationFailed) and isinstance(exc.detail, dict):
            return _flatten_token_error(exc)
        if isinstance(exc, DjangoValidationError):
            # Services validate with full_clean(); keep their fields and codes.
            return exceptions.ValidationError(get_error_detail(exc))
        return super().convert_known_exceptions(exc)


def _api_exception(error):
    if error.attr is not None:
        return exceptions.ValidationError({error.attr: [exceptions.ErrorDetail(error.detail, code=error.code)]})
    exc = exceptions.APIException(detail=error.detail, code=error.code)
    exc.status_code = error.status
    return exc


def _flatten_token_error(exc):
    """simplejwt puts a dict in `detail`, which the formatter would split into one
    error per key (upstream issue #119); keep it a single 401 error instead."""
    flat = exceptions.AuthenticationFailed(
        detail=str(exc.detail.get("detail", exc.default_detail)),
        code=str(exc.detail.get("code", exc.default_code)),
    )
    flat.auth_header = getattr(exc, "auth_header", None)
    flat.status_code = exc.status_code
    return flat
