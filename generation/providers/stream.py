"""What every provider's stream shares: the iteration protocol, closing from
any thread, and the small helpers the providers use to describe what they
got back."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Iterator

from django.conf import settings

from chatproject.errors import DomainError, ModelError

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Completion:
    model: str  # the model that answered (openai: as the server names it; local: the GGUF file's stem)
    finish_reason: str  # "stop" or "length"
    usage: dict | None  # {"prompt_tokens": int, "completion_tokens": int}, or None when unknown


class CompletionStream:
    """A started generation. Iterating yields the response text in pieces
    (str, never empty) as the model produces them. After the iteration ends
    normally, `.result` is the Completion. `.close()` (from any thread, any
    time, idempotent) closes the model's stream, also while the request is
    still waiting for the server's first byte: the server stops generating
    (no more tokens paid for); a loop iterating it then ends (StopIteration)
    without raising, and `.result` stays None. Close every stream (also after
    it ended or raised): a local one holds a model context until then.

    One thread iterates; any thread may close."""

    result: Completion | None

    def __init__(self):
        self.result = None
        self._lock = threading.Lock()
        self._closed = False  # close() was called
        self._busy = False  # a step of the iteration is running
        self._done = False  # the iteration ended (normally or by an error)
        self._finalized = False
        self._pieces = self._generate()

    @property
    def closed(self) -> bool:
        return self._closed

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        with self._lock:
            if self._closed or self._done:
                raise StopIteration
            self._busy = True
        piece = completion = error = None
        ended = False
        try:
            piece = next(self._pieces)
        except StopIteration as stop:
            ended, completion = True, stop.value
        except DomainError as exc:
            error = exc
        except Exception as exc:  # noqa: BLE001 - callers handle model errors only
            logger.exception("language model failed")
            error = ModelError(f"The language model failed ({type(exc).__name__}).")
            error.__cause__ = exc
        finally:
            with self._lock:
                self._busy = False
                closed = self._closed
                if ended or error is not None:
                    self._done = True
        if closed:
            self._finalize()
            raise StopIteration
        if error is not None:
            self._finalize()
            raise error
        if ended:
            self.result = completion
            self._finalize()
            raise StopIteration
        return piece

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            busy, done = self._busy, self._done
        if not done:
            try:
                self._interrupt()
            except Exception:  # noqa: BLE001
                logger.exception("could not interrupt the language model")
        if not busy:
            self._finalize()
        # else: the iterating thread finalizes as soon as its step returns.

    def __del__(self):
        # A stream dropped without close() must not keep a model context.
        try:
            self._finalize()
        except Exception:  # noqa: BLE001, S110
            pass

    def _finalize(self) -> None:
        with self._lock:
            if self._finalized:
                return
            self._finalized = True
        try:
            self._pieces.close()
        except Exception:  # noqa: BLE001
            logger.exception("could not close the language model's stream")
        finally:
            self._release()

    # For the providers.

    def _generate(self) -> Iterator[str]:
        """Yield non-empty text pieces; return the Completion."""
        raise NotImplementedError

    def _interrupt(self) -> None:
        """From any thread, while a step may be running: make it end soon."""

    def _release(self) -> None:
        """Free what the stream holds (called once, from one thread)."""


def finish_reason(reason: str | None) -> str:
    # OpenAI's other reasons (content_filter, tool_calls …) also end the answer.
    return "length" if reason == "length" else "stop"


def usage(prompt_tokens, completion_tokens) -> dict | None:
    if isinstance(prompt_tokens, int) and isinstance(completion_tokens, int):
        return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}
    return None


def describe(exc: BaseException) -> str:
    """An exception in one line for the log, the API key masked."""
    return redact(f"{type(exc).__name__}: {exc}")[:500]


def redact(text: str) -> str:
    key = settings.LLM_API_KEY
    return text.replace(key, "***") if key else text
