"""How a generation ended: what is stored on its pair, and the last event of
its stream (`done`, or `error` with the pair), built alike by the process
that ran it and by any process that reads it back from the store."""

import dataclasses

from chatproject.errors import REGISTRY, DomainError, body_of
from chats.content_repository import COMPLETE, FAILED, INTERRUPTED, StoredPair
from chats.representations import pair_representation

from . import events


def outcome(status: str, finish_reason: str, *, usage=None, error: DomainError | None = None, model=None) -> dict:
    """The fields a generation's end stores on its pair."""
    fields = {
        "status": status,
        "finish_reason": finish_reason,
        "usage": usage,
        "error_code": error.code if error else None,
        "error_detail": error.detail if error else None,
    }
    if model is not None:
        fields["model"] = model
    return fields


def failed(text: str, error: DomainError) -> dict:
    """An error ended it: interrupted with the text that had come, else failed."""
    return outcome(INTERRUPTED if text else FAILED, "error", error=error)


def interrupted() -> dict:
    """Stopped (by a user, a drain, or because its process died)."""
    return outcome(INTERRUPTED, "interrupted")


def complete(*, finish_reason: str, usage, model) -> dict:
    return outcome(COMPLETE, finish_reason, usage=usage, model=model)


def applied(pair: StoredPair, text: str, fields: dict) -> StoredPair:
    """`pair` as it reads once `text` and `fields` are stored."""
    known = {field.name for field in dataclasses.fields(StoredPair)}
    return dataclasses.replace(pair, response=text, **{k: v for k, v in fields.items() if k in known})


def stored_error(pair: StoredPair) -> DomainError | None:
    """The error that ended a stored pair, with the detail it was stored with."""
    error_class = REGISTRY.get(pair.error_code or "")
    return error_class(pair.error_detail) if error_class else None


def end_event(pair: StoredPair, error: DomainError | None, *, position: int) -> events.Event:
    represented = pair_representation(pair, position=position)
    if error is None:
        return events.end("done", represented)
    return events.end("error", {**body_of(error), "pair": represented})


def stored_end_event(pair: StoredPair, *, position: int) -> events.Event:
    return end_event(pair, stored_error(pair), position=position)
