"""The service's own errors: raised by services, selectors and the content
repository, answered by the API.

Each concrete error names its HTTP status and a stable `code` exactly once,
here. Nothing in this module knows DRF: the one exception handler
(`chatproject.api.exceptions`) turns a `DomainError` into the API's error
shape, and the OpenAPI schema builds its error-code enums from `REGISTRY`
(`codes_for`), so a code is never spelled twice.
"""

from http import HTTPStatus
from typing import ClassVar

from django.conf import settings

# code -> error class, for every concrete error below.
REGISTRY: dict[str, type["DomainError"]] = {}


class DomainError(Exception):
    """Base of the service's errors. A subclass that sets `code` is concrete
    and registered; one that does not is a family (`Conflict`)."""

    status: ClassVar[HTTPStatus]
    code: ClassVar[str | None] = None
    default_detail: ClassVar[str]
    # The input field at fault, for errors of a request's content (400): the
    # API answers them as validation errors of that field.
    attr: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        code = cls.__dict__.get("code")
        if code is not None:
            if code in REGISTRY:
                raise TypeError(f"error code {code!r} is already {REGISTRY[code].__name__}'s")
            REGISTRY[code] = cls

    def __init__(self, detail: str | None = None):
        self.detail = detail or self.default_detail
        super().__init__(self.detail)


def error_body(*, status: int, code: str, detail: str, attr: str | None = None) -> dict:
    """The API's error shape with one error: what the exception handler
    renders, built here for the responses made outside it (Django's own error
    pages, the middleware, an event stream's `error` event, the schema's
    examples)."""
    if attr is not None:
        error_type = "validation_error"
    else:
        error_type = "server_error" if status >= 500 else "client_error"
    return {"type": error_type, "errors": [{"code": code, "detail": detail, "attr": attr}]}


def body_of(error: "DomainError") -> dict:
    return error_body(status=error.status, code=error.code, detail=error.detail, attr=error.attr)


def codes_for(status: HTTPStatus) -> list[str]:
    """The codes of every registered error answered with this status."""
    return sorted(code for code, error in REGISTRY.items() if error.status == status)


class NotFound(DomainError):
    """An unknown id, or one the requesting user may not see: never 403, so
    nothing tells a stranger that it exists."""

    status = HTTPStatus.NOT_FOUND
    code = "not_found"
    default_detail = "Not found."


class Conflict(DomainError):
    """The request cannot be applied to the resource as it is now."""

    status = HTTPStatus.CONFLICT


class ChatLocked(Conflict):
    code = "chat_locked"
    default_detail = "This chat is locked by a moderator and cannot be changed."


class RootBranchUndeletable(Conflict):
    code = "root_branch"
    default_detail = "The root branch cannot be deleted; delete the chat instead."


class BranchHasChildren(Conflict):
    code = "branch_has_children"
    default_detail = "This branch has branches of its own; delete with cascade=true to delete them too."


class PayloadTooLarge(DomainError):
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    code = "payload_too_large"

    def __init__(self, detail=None, *, limit=None):
        self.limit = limit or settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        super().__init__(detail)

    @property
    def default_detail(self):
        return f"Request body is larger than {self.limit} bytes."


class UnsupportedFormat(DomainError):
    """An import that is neither of the formats it reads; the detail says
    where it stopped making sense."""

    status = HTTPStatus.BAD_REQUEST
    code = "unsupported_format"
    default_detail = "Neither a branching-chat export nor a ChatGPT conversations.json."


class TooManyConversations(DomainError):
    status = HTTPStatus.BAD_REQUEST
    code = "too_many_conversations"

    @property
    def default_detail(self):
        return f"At most {settings.IMPORT_MAX_CONVERSATIONS} conversations are imported at once."


class ServiceUnavailable(DomainError):
    """A store the request needs cannot be reached (or not within its time
    budget): the client may try again later."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    code = "service_unavailable"
    default_detail = "A data store is unavailable. Try again later."


class DatabaseUnavailable(ServiceUnavailable):
    default_detail = "The database is unavailable. Try again later."


class ContentStoreUnavailable(ServiceUnavailable):
    default_detail = "The content store is unavailable. Try again later."


class ResponseRequired(DomainError):
    status = HTTPStatus.BAD_REQUEST
    code = "response_required"
    attr = "response"
    default_detail = "Generation is off: send the response with the question."


class GenerationInProgress(Conflict):
    code = "generation_in_progress"
    default_detail = "An answer is being generated on this branch; wait for it or stop it."


class ModelError(DomainError):
    """The model server answered with an error (an unknown model, a rejected key…)."""

    status = HTTPStatus.BAD_GATEWAY
    code = "model_error"
    default_detail = "The language model answered with an error."


class ModelUnavailable(ServiceUnavailable):
    code = "model_unavailable"
    default_detail = "The language model cannot be reached. Try again later."


class ModelBusy(ServiceUnavailable):
    code = "model_busy"
    default_detail = "Every generation slot is busy. Try again in a moment."


class GenerationLimit(DomainError):
    status = HTTPStatus.TOO_MANY_REQUESTS
    code = "generation_limit"

    @property
    def default_detail(self):
        return (
            f"You already have {settings.LLM_USER_CONCURRENCY} answers being generated; "
            "wait for one to end or stop it."
        )


class ModelTimeout(DomainError):
    status = HTTPStatus.GATEWAY_TIMEOUT
    code = "model_timeout"
    default_detail = "The language model did not start answering in time."


# The errors that end a generation; its pair keeps the code (and detail).
GENERATION_ENDING_ERRORS = (ModelUnavailable, ModelTimeout, ModelError, ContentStoreUnavailable)
GENERATION_ENDING_CODES = tuple(error.code for error in GENERATION_ENDING_ERRORS)


class PairNotFinished(DomainError):
    status = HTTPStatus.BAD_REQUEST
    code = "pair_not_finished"
    attr = "response_id"
    default_detail = "This pair is still being generated, or its generation failed: it cannot end a share."


class NothingToShare(DomainError):
    status = HTTPStatus.BAD_REQUEST
    code = "nothing_to_share"
    default_detail = "This branch's path has no finished pair to share."


class ShareLimit(Conflict):
    code = "share_limit"

    @property
    def default_detail(self):
        return f"You have {settings.SHARES_PER_USER} live shares, the most there can be: delete one first."


class SearchUnavailable(DomainError):
    status = HTTPStatus.SERVICE_UNAVAILABLE
    code = "search_unavailable"
    default_detail = "Search needs PostgreSQL; this server runs on SQLite."


class InvalidCursor(DomainError):
    status = HTTPStatus.BAD_REQUEST
    code = "invalid"
    attr = "cursor"
    default_detail = "Invalid cursor."


class NoSearchTerms(DomainError):
    status = HTTPStatus.BAD_REQUEST
    code = "no_search_terms"
    attr = "q"
    default_detail = "The query has no word to look for (only common words, or only exclusions)."
