"""drf-spectacular: OpenAPI schema, Swagger UI and ReDoc, every asset served
from drf-spectacular-sidecar through our own static files."""

SPECTACULAR_SETTINGS = {
    "TITLE": "Branching chat API",
    "DESCRIPTION": (
        "Chats of question/response pairs that can be branched from any earlier pair: a branch "
        "shares the history up to that pair and continues on its own.\n\n"
        "**Authentication.** Register, then log in to get an `access` token (15 minutes) and a "
        "`refresh` token (7 days, rotated on every refresh). Send `Authorization: Bearer <access>` "
        "on every route but register, login, refresh and `/health`.\n\n"
        "**Ids.** `chat_id` and `branch_id` are accepted in the query string or in the JSON body on "
        "every route; given in both places they must agree.\n\n"
        "**Errors.** Every error has the shape `{type, errors: [{code, detail, attr}]}`: `type` is "
        "`validation_error`, `client_error` or `server_error`, `code` is stable, `detail` is for "
        "people and `attr` names the offending field (or null). Each operation lists the statuses "
        "it can return; their schemas are the `Error<status>` ones at the end of the list. "
        "A chat owned by someone else, or hidden by a moderator, is a 404 like an unknown one; a "
        "chat locked by a moderator answers 409 `chat_locked` to every write but delete-chat. An error response lists at most 20 "
        "errors: past that, the last item is `too_many_errors`.\n\n"
        "**Generation.** Send a question without its response and the service's language model "
        "answers it, with the branch's path as its context; with `\"stream\": true` the answer "
        "comes as server-sent events while it is generated. Regenerate and edit make new branches, "
        "so no answer is ever overwritten."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ChatStatusEnum": "chats.models.ChatStatus",
        "PairStatusEnum": "chats.content_repository.PAIR_STATUSES",
        "GenerationErrorCodeEnum": "chatproject.errors.GENERATION_ENDING_CODES",
        "ImportSkipCodeEnum": "transfer.serializers.SKIP_CODES",
    },
    "TAGS": [
        {"name": "auth", "description": "Accounts and JWT tokens: register, log in, refresh, log out."},
        {"name": "chats", "description": "Chats: create, read a page of the shown branch's path, retitle, list, delete; "
            "download one as a file (our JSON, ChatGPT's format, Markdown) and import files of either JSON format."},
        {"name": "messages", "description": "Question/response pairs: append to a branch (answered by the model when the response "
            "is left out, streamed on request), read a page of its path, regenerate, stop a generation, "
            "re-attach to one."},
        {
            "name": "branches",
            "description": "Branches of a chat: fork after any pair, list, activate, rename, delete.",
        },
        {"name": "search", "description": "Full-text search over every pair of every chat and branch you own, "
            "with snippets and highlights, naming the branch that holds each pair."},
        {"name": "shares", "description": "Share links: a read-only view of a branch up to a pair, readable without a login "
            "(get-shared, and the page /s/<token>); list and revoke yours; continue one as a chat of yours."},
        {"name": "health", "description": "The state of the service and its stores, for load balancers."},
    ],
    "POSTPROCESSING_HOOKS": [
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
        "chatproject.api.openapi.forbid_unknown_request_fields",
        "chatproject.api.openapi.finish_schema",
    ],
}

SPECTACULAR_SETTINGS["SWAGGER_UI_SETTINGS"] = {
    "deepLinking": True,
    "persistAuthorization": True,
    # Swagger UI would otherwise send the schema to an outside validator.
    "validatorUrl": None,
}
