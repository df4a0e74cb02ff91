"""How the OpenAPI schema describes errors.

Each operation lists the errors it can actually return, through `errors()` in
its `@extend_schema(responses=...)`: nothing is added automatically. Every
status has one schema, `Error<status>` (the API's error shape with the codes
of that status), so the real models are not buried under per-operation error
plumbing, and every documented error comes with an example of its body.
"""

from http import HTTPStatus

from django.db import models
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from drf_standardized_errors import openapi as standardized_openapi
from rest_framework import serializers

from chatproject.errors import REGISTRY, codes_for, error_body


class ErrorCode401Enum(models.TextChoices):
    NOT_AUTHENTICATED = "not_authenticated"
    AUTHENTICATION_FAILED = "authentication_failed"
    TOKEN_NOT_VALID = "token_not_valid"
    NO_ACTIVE_ACCOUNT = "no_active_account"
    USER_NOT_FOUND = "user_not_found"
    USER_INACTIVE = "user_inactive"


def _domain_codes(status):
    """The codes of the service's own errors with this status (the registry
    of `chatproject.errors`), as choices: no code is spelled twice."""
    return models.TextChoices(f"ErrorCode{status.value}Enum", [(code.upper(), code) for code in codes_for(status)])


ErrorCode409Enum = _domain_codes(HTTPStatus.CONFLICT)
ErrorCode413Enum = _domain_codes(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
ErrorCode502Enum = _domain_codes(HTTPStatus.BAD_GATEWAY)
ErrorCode503Enum = _domain_codes(HTTPStatus.SERVICE_UNAVAILABLE)
ErrorCode504Enum = _domain_codes(HTTPStatus.GATEWAY_TIMEOUT)


# status: (error types, codes (None: any, validation codes are open-ended), what it means)
ERROR_STATUSES = {
    400: (
        ["validation_error", "client_error"],
        None,
        "Invalid input: `validation_error` names each offending field in `attr` (a missing, unknown or "
        "read-only field, a value too long, a bad UUID, ids in the query string and the body that "
        "disagree); `client_error` with `parse_error` for a body that is not valid JSON.",
    ),
    401: (["client_error"], ErrorCode401Enum.values, "No token, or a bad or expired one."),
    404: (
        ["client_error"],
        ["not_found"],
        "An unknown id, an id owned by someone else, or a hidden chat: all look the same.",
    ),
    405: (["client_error"], ["method_not_allowed"], "Another method than this route's; `Allow` lists its own."),
    409: (["client_error"], ErrorCode409Enum.values, "The request conflicts with the chat's state."),
    413: (["client_error"], ErrorCode413Enum.values, "The request body is over 1 MiB."),
    415: (["client_error"], ["unsupported_media_type"], "A request body that is not `application/json`."),
    429: (
        ["client_error"],
        ["throttled", *codes_for(HTTPStatus.TOO_MANY_REQUESTS)],
        "Too many requests (`throttled`; `Retry-After` says how many seconds to wait), or already as many "
        "answers being generated as one user may have at once (`generation_limit`).",
    ),
    502: (["server_error"], ErrorCode502Enum.values, "The model server answered with an error."),
    503: (
        ["server_error"],
        ErrorCode503Enum.values,
        "PostgreSQL or MongoDB is unavailable (`service_unavailable`), the model server cannot be reached "
        "(`model_unavailable`) or every generation slot is busy (`model_busy`); try again later.",
    ),
    504: (["server_error"], ErrorCode504Enum.values, "The model did not start answering in time."),
}


def _detail(code):
    return REGISTRY[code]().detail

UNAUTHORIZED_DETAILS = {
    "not_authenticated": "Authentication credentials were not provided.",
    "token_not_valid": "Token is invalid or expired",
    "no_active_account": "No active account found with the given credentials",
}


# For the reads that also take their ids in a JSON body.
IDS_IN_BODY_NOTES = {
    413: "Only when the ids come in a JSON body.",
    415: "Only when the ids come in a body.",
}


def error_schema_name(status):
    return f"Error{status}"


def _examples(status, *, invalid, unauthorized, missing, conflicts, method, json_body, generates):
    def example(summary, value):
        return OpenApiExample(summary, value=value, response_only=True)

    if status == 400:
        attr, code, detail = invalid
        summary = f"Invalid `{attr}`" if attr else code
        found = [example(summary, error_body(status=status, code=code, detail=detail, attr=attr))]
        if json_body:
            found.append(
                example(
                    "Not JSON",
                    error_body(status=status, code="parse_error", detail="JSON parse error - Expecting value: line 1 column 1 (char 0)"),
                )
            )
        return found
    if status == 401:
        return [example(code, error_body(status=status, code=code, detail=UNAUTHORIZED_DETAILS[code])) for code in unauthorized]
    if status == 404:
        return [example(detail, error_body(status=status, code="not_found", detail=detail)) for detail in missing]
    if status == 405:
        other = "POST" if method == "GET" else "GET"
        return [example("Wrong method", error_body(status=status, code="method_not_allowed", detail=f'Method "{other}" not allowed.'))]
    if status == 409:
        return [example(code, error_body(status=status, code=code, detail=_detail(code))) for code in conflicts]
    if status == 413:
        detail = "Request body is larger than 1048576 bytes."
        return [example("Body too large", error_body(status=status, code="payload_too_large", detail=detail))]
    if status == 415:
        detail = 'Unsupported media type "text/plain" in request.'
        return [example("Not JSON", error_body(status=status, code="unsupported_media_type", detail=detail))]
    if status == 429:
        detail = "Request was throttled. Expected available in 42 seconds."
        found = [example("Throttled", error_body(status=status, code="throttled", detail=detail))]
        if generates:
            found.append(example("generation_limit", error_body(status=status, code="generation_limit", detail=_detail("generation_limit"))))
        return found
    if status == 503:
        detail = "The content store is unavailable. Try again later."
        found = [example("A store is down", error_body(status=status, code="service_unavailable", detail=detail))]
        if generates:
            found += [example(code, error_body(status=status, code=code, detail=_detail(code))) for code in ("model_unavailable", "model_busy")]
        return found
    if status in (502, 504):
        code = "model_error" if status == 502 else "model_timeout"
        return [example(code, error_body(status=status, code=code, detail=_detail(code)))]
    raise ValueError(f"no error documentation for status {status}")


def errors(
    *statuses,
    invalid=("chat_id", "invalid", "Must be a valid UUID."),
    unauthorized=("not_authenticated", "token_not_valid"),
    missing=("Chat not found.",),
    conflicts=(),
    method="POST",
    json_body=True,
    notes=None,
    generates=False,
):
    """The error responses of one operation, for `@extend_schema(responses=)`:
    `errors(400, 401, 404, 405, 429, 503, invalid=(attr, code, detail))`.
    `conflicts` names the 409 codes it can raise; `notes` adds to a status's
    description what is particular to the operation."""
    notes = notes or {}
    responses = {}
    for status in statuses:
        description = ERROR_STATUSES[status][2]
        if status == 409:
            description = "Conflicts: " + ", ".join(f"`{code}`" for code in conflicts) + "."
        if status in notes:
            description = f"{description} {notes[status]}"
        responses[status] = OpenApiResponse(
            response={"$ref": f"#/components/schemas/{error_schema_name(status)}"},
            description=description,
            examples=_examples(
                status,
                invalid=invalid,
                unauthorized=unauthorized,
                missing=missing,
                conflicts=conflicts,
                method=method,
                json_body=json_body,
                generates=generates,
            ),
        )
    return responses


EVENT_STREAM_DESCRIPTION = """With `"stream": true` and a generated response: `text/event-stream`, one
event per step of the generation, each `event: <name>` then `data: <JSON>`:

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


def generation_responses(created, *statuses, **options) -> dict:
    """The responses of a route that may generate its response: `created`
    (201), the event stream (200 with `"stream": true`) and `errors(*statuses,
    **options)` with the errors of a generation (429, 502, 503, 504) added."""
    statuses = sorted({*statuses, 429, 502, 503, 504})
    return {
        201: created,
        (200, "text/event-stream"): STREAM_EVENTS,
        **errors(*statuses, generates=True, **options),
    }


def error_components():
    """The `Error<status>` schemas: the one error shape, with each status's
    types and codes."""
    components = {}
    for status, (types, codes, meaning) in ERROR_STATUSES.items():
        code = {"type": "string", "description": "Stable, for programs."}
        if codes is not None:
            code["enum"] = list(codes)
        components[error_schema_name(status)] = {
            "type": "object",
            "description": f"HTTP {status}. {meaning}",
            "required": ["type", "errors"],
            "properties": {
                "type": {"type": "string", "enum": types},
                "errors": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["code", "detail", "attr"],
                        "properties": {
                            "code": code,
                            "detail": {"type": "string", "description": "For people."},
                            "attr": {
                                "type": "string",
                                "nullable": True,
                                "description": "The offending field, or null.",
                            },
                        },
                    },
                },
            },
        }
    return components


class AutoSchema(standardized_openapi.AutoSchema):
    """drf-standardized-errors' schema class, with its automatic error
    responses off: each operation documents its own through `errors()`."""

    def _should_add_error_response(self, responses, status_code):
        return False


def forbid_unknown_request_fields(result, generator, request, public):
    """Postprocessing hook: request bodies take only the fields they declare
    (StrictInputMixin answers 400 for any other), so say so in the schema."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    return result


# What the fields of the models look like in real use: every generated sample
# (Swagger UI's, ReDoc's) is built from these, so it reads like a real chat.
CHAT_ID = "6f1c2a4e-93b5-4d7e-8a0c-2b9e5d3f7a14"
ROOT_ID = "0b8d4c1e-5a2f-4e6b-9c3d-7f1a2e8b4c60"
BRANCH_ID = "d3a9e7b2-1c4f-4a8e-b6d5-9e2c7f0a3b81"
RESPONSE_ID = "a7e4c9d2-6b1f-4e3a-8d5c-0f9b2e7a1c43"
FIELD_EXAMPLES = {
    "chat_id": CHAT_ID,
    "branch_id": BRANCH_ID,
    "active_branch_id": BRANCH_ID,
    "root_branch_id": ROOT_ID,
    "parent_branch_id": ROOT_ID,
    "response_id": RESPONSE_ID,
    "fork_response_id": RESPONSE_ID,
    "before": RESPONSE_ID,
    "branches": [BRANCH_ID],
    # The pair shown (on BRANCH_ID) is the second of two alternatives.
    "alternatives": [ROOT_ID, BRANCH_ID],
    "title": "Two days in Lisbon",
    "name": "shorter answers",
    "question": "What should I see in Lisbon in two days?",
    "response": "Day one: Alfama, the castle and a tram 28 ride; day two: Belém and the LX Factory.",
    "created_at": "2026-11-28T17:42:09.318204Z",
    "updated_at": "2026-11-30T09:15:04.120931Z",
    "timestamp": "2026-11-30T09:15:04.120931Z",
    "username": "ada",
    "email": "ada@example.com",
    "password": "correct-horse-battery-staple",
    "id": "4c2e8a1f-7b3d-4e9a-a6c5-1d0f8b2e9a37",
    "position": 3,
    "fork_position": 2,
    "message_count": 4,
    "branch_count": 2,
    "access": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIn0.4Hb0Yk3ZqVt8Xw",
    "refresh": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.q9Lm2Rz0Wv7Ks1",
    "search": "lisbon",
    "q": '"night train" lisbon -bus',
    "chat_title": "Two days in Lisbon",
    "branch_name": "shorter answers",
    "share_id": "9b7d3c2a-5e1f-4a6b-8c9d-0e1f2a3b4c5d",
    "token": "q3VnX8kz0R2mB7wYt5LcJ1sHa9dE4fPu6GiKoZxNyQw",
    "url": "http://localhost:8000/s/q3VnX8kz0R2mB7wYt5LcJ1sHa9dE4fPu6GiKoZxNyQw",
    "pair_count": 4,
    "expires_at": "2026-12-28T17:42:09.318204Z",
    "shared_at": "2026-11-28T17:42:09.318204Z",
}
NEXT_PAGE = "http://localhost:8000/api/v1/chats/list-chats?cursor=cD0yMDI2LTExLTI5KzA4JTNBMDElM0EzMy41MTIwMDIlMkIwMCUzQTAw"
PREVIOUS_PAGE = "http://localhost:8000/api/v1/chats/list-chats?cursor=cj0xJnA9MjAyNi0xMS0zMCswOSUzQTE1JTNBMDQuMTIwOTMxJTJCMDAlM0EwMA%3D%3D"

def _health_example(status, **checks):
    return {"value": {"status": status, "checks": {"postgres": "ok", "mongodb": "ok", "redis": "ok", "model": "ok", **checks}}}


HEALTH_PATH = {
    "get": {
        "operationId": "health",
        "tags": ["health"],
        "summary": "State of the service, its stores and its model",
        "description": (
            "No token needed. `ok` when everything answers; `degraded` (still 200) when only Redis (the "
            "cache) or the language model is down, since clients can still store the pairs they answer "
            "themselves; `down` (503) when PostgreSQL or MongoDB is. Each check is named after what it "
            "checks: `postgres`, `mongodb`, `redis` in production; `sqlite`, `mongomock`, `locmem` on the "
            "embedded defaults of local use. `model` is `off` when generation is switched off."
        ),
        "security": [],
        "responses": {
            "200": {
                "description": "Up (`ok` or `degraded`).",
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/Health"},
                        "examples": {
                            "ok": _health_example("ok"),
                            "degraded": _health_example("degraded", model="down"),
                        },
                    }
                },
            },
            "503": {
                "description": "PostgreSQL or MongoDB is down.",
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/Health"},
                        "examples": {"down": _health_example("down", mongodb="down")},
                    }
                },
            },
            "405": {
                "description": "Any method but GET and HEAD.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error405"}}},
            },
        },
    }
}
HEALTH_SCHEMA = {
    "type": "object",
    "required": ["status", "checks"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "degraded", "down"]},
        "checks": {
            "type": "object",
            "description": "One entry per check, named after what it checks.",
            "additionalProperties": {"type": "string", "enum": ["ok", "down", "off"]},
        },
    },
}


def finish_schema(result, generator, request, public):
    """Postprocessing hook: the error schemas, real-looking samples, /health,
    and the components ordered so the models come first and the error
    schemas after them, together."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(error_components())
    schemas["Health"] = HEALTH_SCHEMA
    result.setdefault("paths", {})["/health"] = HEALTH_PATH
    for name, component in schemas.items():
        _add_examples(component, request=name.endswith("Request"))
    for operation in (op for path in result["paths"].values() for op in path.values()):
        for parameter in operation.get("parameters", []):
            # Swagger UI's "Try it out" sends what examples fill in: only
            # required parameters get one (an optional made-up id is a 404).
            if parameter["name"] in FIELD_EXAMPLES and parameter.get("required") and "example" not in parameter:
                parameter["example"] = FIELD_EXAMPLES[parameter["name"]]
    for name, route in (("PaginatedChatOutputList", "chats/list-chats"), ("PaginatedShareOutputList", "shares/list-shares")):
        page = schemas.get(name, {}).get("properties", {})
        if "next" in page:
            page["next"]["example"] = NEXT_PAGE.replace("chats/list-chats", route)
            page["previous"]["example"] = PREVIOUS_PAGE.replace("chats/list-chats", route)
    used = _referenced(result["paths"], schemas)
    models_first = sorted((n for n in used if not n.startswith("Error")), key=str.lower)
    errors_after = sorted(n for n in used if n.startswith("Error"))
    result["components"]["schemas"] = {name: schemas[name] for name in models_first + errors_after}
    return result


def _add_examples(component, *, request):
    required = set(component.get("required", []))
    for name, prop in component.get("properties", {}).items():
        nested = "$ref" in prop or "allOf" in prop or "$ref" in prop.get("items", {})
        # In request bodies, an optional id left in the sample would name
        # something that does not exist.
        made_up_id = request and name not in required and prop.get("format") == "uuid"
        if name in FIELD_EXAMPLES and "example" not in prop and not nested and not made_up_id:
            prop["example"] = FIELD_EXAMPLES[name]
    if request and "example" not in component:
        # The body Swagger UI fills in: the fields with an example, no made-up optional id.
        sample = {name: prop["example"] for name, prop in component.get("properties", {}).items() if "example" in prop}
        if sample:
            component["example"] = sample


def _referenced(paths, schemas):
    """The names of the components reachable from the paths."""
    seen, stack = set(), [paths]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in seen:
                    seen.add(name)
                    stack.append(schemas[name])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return seen
