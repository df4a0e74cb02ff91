"""Error response schemas for the statuses drf-standardized-errors does not
describe itself (or describes with too few codes), so the published schema
matches what the API really answers."""

from http import HTTPStatus

from django.db import models
from drf_spectacular.utils import OpenApiResponse
from drf_standardized_errors import openapi as standardized_openapi
from drf_standardized_errors.openapi_serializers import (
    ClientErrorEnum,
    ServerErrorEnum,
    ValidationErrorResponseSerializer,
)
from rest_framework import serializers

from chatproject.errors import codes_for


class ErrorCode401Enum(models.TextChoices):
    NOT_AUTHENTICATED = "not_authenticated"
    AUTHENTICATION_FAILED = "authentication_failed"
    TOKEN_NOT_VALID = "token_not_valid"
    NO_ACTIVE_ACCOUNT = "no_active_account"
    USER_NOT_FOUND = "user_not_found"
    USER_INACTIVE = "user_inactive"


def _domain_codes(status):
    """The codes of the service's own errors with this status, as choices."""
    return models.TextChoices(f"ErrorCode{status.value}Enum", [(code.upper(), code) for code in codes_for(status)])


ErrorCode409Enum = _domain_codes(HTTPStatus.CONFLICT)
ErrorCode413Enum = _domain_codes(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
ErrorCode503Enum = _domain_codes(HTTPStatus.SERVICE_UNAVAILABLE)
ErrorCode502Enum = _domain_codes(HTTPStatus.BAD_GATEWAY)
ErrorCode504Enum = _domain_codes(HTTPStatus.GATEWAY_TIMEOUT)


def _error_response(status, codes, error_type):
    error = type(
        f"Error{status}Serializer",
        (serializers.Serializer,),
        {
            "code": serializers.ChoiceField(choices=codes.choices),
            "detail": serializers.CharField(),
            "attr": serializers.CharField(allow_null=True),
        },
    )
    return type(
        f"ErrorResponse{status}Serializer",
        (serializers.Serializer,),
        {"type": serializers.ChoiceField(choices=error_type.choices), "errors": error(many=True)},
    )


ErrorResponse401Serializer = _error_response(401, ErrorCode401Enum, ClientErrorEnum)
ErrorResponse409Serializer = _error_response(409, ErrorCode409Enum, ClientErrorEnum)
ErrorResponse413Serializer = _error_response(413, ErrorCode413Enum, ClientErrorEnum)
ErrorResponse503Serializer = _error_response(503, ErrorCode503Enum, ServerErrorEnum)
ErrorResponse502Serializer = _error_response(502, ErrorCode502Enum, ServerErrorEnum)
ErrorResponse504Serializer = _error_response(504, ErrorCode504Enum, ServerErrorEnum)

# The 409 of every write to a chat.
LOCKED = {409: OpenApiResponse(ErrorResponse409Serializer, description="The chat is locked (`chat_locked`).")}


class AutoSchema(standardized_openapi.AutoSchema):
    """drf-standardized-errors' schema, describing our validation errors as the
    API really sends them: for query strings too (the library only looks at
    bodies), with any field in `attr` (unknown fields are refused by name) and
    any stable code (services and validators add their own)."""

    def _should_add_validation_error_response(self):
        return super()._should_add_validation_error_response() or bool(self.get_override_parameters())

    def _get_serializer_for_validation_error_response(self):
        return ValidationErrorResponseSerializer


def forbid_unknown_request_fields(result, generator, request, public):
    """Postprocessing hook: request bodies take only the fields they declare
    (StrictInputMixin answers 400 for any other), so say so in the schema."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    return result


EVENT_STREAM_DESCRIPTION = """With `"stream": true` and a generated response: `text/event-stream`, one
event per generation step, each `event: <name>` then `data: <JSON>`:

- `chat` (create-chat only) or `branch` (create-branch, regenerate): the chat or
  branch as created;
- `pair`: the pair as stored at the start (`status` `generating`, empty response);
- `delta`, any number: `{"response_id", "text", "offset"}`, the text in the order
  generated, `offset` the number of characters of the response before it;
- then exactly one of `done` (the pair as finally stored) or `error` (the error
  shape, plus `pair`, the pair as stored: `failed`, or `interrupted` with the text
  that had arrived).

The `delta` texts joined are exactly the stored response. A client that goes
away loses nothing: the generation goes on, and `GET messages/stream-message`
re-attaches to it."""

class StreamEventSerializer(serializers.Serializer):
    """One server-sent event (`event: <name>`, `data: <JSON>`)."""

    event = serializers.ChoiceField(choices=["chat", "branch", "pair", "delta", "done", "error"])
    data = serializers.CharField(help_text="The event's JSON (see the description of the response).")


STREAM_EVENTS = OpenApiResponse(StreamEventSerializer, description=EVENT_STREAM_DESCRIPTION)


def generation_responses(created) -> dict:
    """The responses of a route that may generate: `created` (201), the event
    stream (200), and the errors of a generation."""
    return {
        201: created,
        (200, "text/event-stream"): STREAM_EVENTS,
        409: OpenApiResponse(
            ErrorResponse409Serializer,
            description="The chat is locked (`chat_locked`), or the branch is already generating "
            "(`generation_in_progress`).",
        ),
        502: OpenApiResponse(ErrorResponse502Serializer, description="The model server answered with an error."),
        503: OpenApiResponse(
            ErrorResponse503Serializer,
            description="A store (`service_unavailable`) or the model server (`model_unavailable`) cannot be "
            "reached, or every generation slot is busy (`model_busy`).",
        ),
        504: OpenApiResponse(
            ErrorResponse504Serializer, description="The model did not start answering in time (`model_timeout`)."
        ),
    }
