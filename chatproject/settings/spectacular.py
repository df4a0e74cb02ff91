"""drf-spectacular: OpenAPI schema, Swagger UI and ReDoc, every asset served
from drf-spectacular-sidecar through our own static files."""

_ERRORS = "drf_standardized_errors.openapi_serializers"

SPECTACULAR_SETTINGS = {
    "TITLE": "Branching chat API",
    "DESCRIPTION": (
        "Chats of question/response pairs that can be branched from any earlier "
        "pair. Every error has the shape `{type, errors: [{code, detail, attr}]}`."
        " An error response lists at most 20 errors: past that, the last item is `too_many_errors`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        name: f"{_ERRORS}.{name}.choices"
        for name in (
            "ValidationErrorEnum",
            "ClientErrorEnum",
            "ServerErrorEnum",
            "ErrorCode401Enum",
            "ErrorCode403Enum",
            "ErrorCode404Enum",
            "ErrorCode405Enum",
            "ErrorCode406Enum",
            "ErrorCode415Enum",
            "ErrorCode429Enum",
            "ErrorCode500Enum",
        )
    }
    | {
        name: f"chatproject.api.openapi.{name}.choices"
        for name in (
            "ErrorCode401Enum",
            "ErrorCode409Enum",
            "ErrorCode413Enum",
            "ErrorCode502Enum",
            "ErrorCode503Enum",
            "ErrorCode504Enum",
        )
    }
    | {"PairStatusEnum": "chats.content_repository.PAIR_STATUSES", "ChatStatusEnum": "chats.models.ChatStatus.choices"},
    "POSTPROCESSING_HOOKS": [
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
        "chatproject.api.openapi.forbid_unknown_request_fields",
    ],
}

SPECTACULAR_SETTINGS["SWAGGER_UI_SETTINGS"] = {
    "deepLinking": True,
    "persistAuthorization": True,
    # Swagger UI would otherwise send the schema to an outside validator.
    "validatorUrl": None,
}
