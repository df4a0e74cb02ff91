"""The `openai` provider: any OpenAI-compatible chat-completions server
(OpenAI, Ollama, vLLM, llama.cpp's server, LM Studio …) through the official
`openai` SDK.

One SDK client per (base URL, key) serves every thread, with kept-alive
connections: a generation does not pay a new TCP (and TLS) handshake. A
stream can be closed from another thread at any moment, also while its
request still waits for the server's first byte: the connection each request
writes on is recorded (`_StopAwareBackend`), so a stop shuts down exactly
that socket while it is still this stream's, and a request not yet written
is refused. A connection whose response was cut is never put back in the
pool.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterator

from django.conf import settings

from chatproject.errors import DomainError, ModelError, ModelTimeout, ModelUnavailable

from .stream import Completion, CompletionStream, describe, finish_reason, redact, usage
from .watchdog import watchdog

logger = logging.getLogger(__name__)

CHECK_TIMEOUT = 2.0  # seconds: /health must answer quickly
KEEPALIVE_CONNECTIONS = 32

_client_lock = threading.Lock()
_client_cache: tuple[tuple, object] | None = None
# The stream whose request this thread is sending (see _StopAwareBackend).
_sending = threading.local()


def client():
    """The SDK client for the current settings. No retries: they multiply an
    outage's wait."""
    global _client_cache
    import openai

    key = (settings.LLM_BASE_URL, settings.LLM_API_KEY or "none")
    with _client_lock:
        if _client_cache is None or _client_cache[0] != key:
            http_client = openai.DefaultHttpxClient(transport=_transport())
            instance = openai.OpenAI(
                base_url=key[0], api_key=key[1], max_retries=0, timeout=_timeout(), http_client=http_client
            )
            _client_cache = (key, instance)
        return _client_cache[1]


def _transport():
    import httpx

    transport = httpx.HTTPTransport(
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=KEEPALIVE_CONNECTIONS)
    )
    # httpx offers no public way to pass httpcore a network backend; the pool
    # reads this attribute whenever it opens a connection.
    transport._pool._network_backend = _StopAwareBackend(transport._pool._network_backend)
    return transport


class _Refused(Exception):
    """A request written after its stream was closed."""


class _StopAwareBackend:
    """httpcore's network backend, with streams that tell the model stream
    being sent (`_sending.stream`, set by the thread that sends it) which
    socket its request goes out on."""

    def __init__(self, backend):
        self._backend = backend

    def connect_tcp(self, *args, **kwargs):
        return _StopAwareStream(self._backend.connect_tcp(*args, **kwargs))

    def connect_unix_socket(self, *args, **kwargs):
        return _StopAwareStream(self._backend.connect_unix_socket(*args, **kwargs))

    def sleep(self, seconds):
        self._backend.sleep(seconds)


class _StopAwareStream:
    """A connection of the pool that remembers the model stream whose request
    went out on it last: only that stream may shut it down, and only until
    it lets go (at the end of its response) or another request goes out."""

    _owners = threading.Lock()

    def __init__(self, stream):
        self._stream = stream
        self._owner = None

    def read(self, max_bytes, timeout=None):
        return self._stream.read(max_bytes, timeout)

    def write(self, buffer, timeout=None):
        owner = getattr(_sending, "stream", None)
        with self._owners:
            if owner is not None and owner.closed:
                raise _Refused()
            self._owner = owner
            if owner is not None:
                owner.connection = self
        self._stream.write(buffer, timeout)

    def shut_down_for(self, owner) -> None:
        """Wake a read blocked on this connection (closing a socket from
        another thread would not): the reader sees the end of the stream,
        and the server sees its client go and stops generating."""
        with self._owners:
            if self._owner is not owner:
                return  # let go, or serving another generation by now
            self._owner = None
            sock = self._stream.get_extra_info("socket")
            if isinstance(sock, socket.socket):
                with contextlib.suppress(OSError):  # already closed
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def let_go(self, owner) -> None:
        with self._owners:
            if self._owner is owner:
                self._owner = None

    def close(self):
        self._stream.close()

    def start_tls(self, *args, **kwargs):
        return _StopAwareStream(self._stream.start_tls(*args, **kwargs))

    def get_extra_info(self, info):
        return self._stream.get_extra_info(info)


def _timeout():
    import httpx

    timeout = float(settings.LLM_TIMEOUT)
    return httpx.Timeout(timeout, connect=min(5.0, timeout))


def check() -> bool:
    import httpx

    client().models.list(timeout=httpx.Timeout(CHECK_TIMEOUT))
    return True


def error_for(exc: Exception, *, started: bool) -> DomainError:
    """The service's error for what the SDK (or httpx under it) raised, with
    the server's own message where it sent one."""
    import httpx
    import openai

    timeout = settings.LLM_TIMEOUT
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException | TimeoutError):
        if isinstance(exc, httpx.ConnectTimeout) or isinstance(exc.__cause__, httpx.ConnectTimeout):
            return ModelUnavailable()
        if started:
            return ModelTimeout(f"The language model stopped answering for more than {timeout:g} s.")
        return ModelTimeout(f"The language model did not start answering within {timeout:g} s.")
    if isinstance(exc, openai.APIConnectionError):
        return ModelUnavailable()
    if isinstance(exc, openai.APIStatusError):
        message = ""
        if isinstance(exc.body, dict):
            message = str(exc.body.get("message") or exc.body.get("detail") or "")
        message = redact(message).strip()[:200]
        return ModelError(
            f"The language model server answered HTTP {exc.status_code}" + (f": {message}" if message else ".")
        )
    if isinstance(exc, openai.APIError):
        message = redact(str(exc.message)).strip()[:200]
        return ModelError(f"The language model server reported an error: {message}")
    if isinstance(exc, httpx.HTTPError):
        return ModelError("The language model server broke off its answer.")
    return ModelError(f"The language model server sent something unreadable ({type(exc).__name__}).")


def _rejects_stream_options(exc: Exception) -> bool:
    import openai

    return (
        isinstance(exc, openai.APIStatusError)
        and exc.status_code in (400, 422)
        and "stream_options" in str(exc.body or exc.message)
    )


_draining_stream_class = None


def _draining_stream():
    """The SDK's stream of chat-completion chunks, reading its response to
    the end: the SDK stops at `data: [DONE]` and drops the rest (the body's
    last bytes), and a connection whose response was not read to the end
    is closed instead of kept for the next generation."""
    global _draining_stream_class
    if _draining_stream_class is None:
        import openai
        from openai.types.chat import ChatCompletionChunk

        class DrainingStream(openai.Stream[ChatCompletionChunk]):
            # Called before the connection can go back to the pool.
            on_done = None

            def _iter_events(self):
                body = self.response.iter_bytes()
                for event in self._decoder.iter_bytes(body):
                    if event.data.startswith("[DONE]"):
                        if self.on_done is not None:
                            self.on_done()
                        for _ in body:
                            pass
                    yield event

        _draining_stream_class = DrainingStream
    return _draining_stream_class


def _create_stream(body: dict):
    """The SDK's stream of chat-completion chunks for this request body.

    Sent with the client's `post`, as `chat.completions.create` sends it, but
    without walking the body through the SDK's type-driven transform first:
    for a context of plain strings it changes nothing and costs milliseconds
    of CPU before the request leaves, which the first token waits for."""
    from openai.types.chat import ChatCompletion

    return client().post(
        "/chat/completions",
        body=body,
        cast_to=ChatCompletion,
        options={"timeout": _timeout()},
        stream=True,
        stream_cls=_draining_stream(),
    )


class OpenAIStream(CompletionStream):
    """The request is sent by the first step of the iteration, so the stream
    exists (and can be closed) before the server has answered anything."""

    def __init__(self, messages: list[dict]):
        self._request = {
            "model": settings.LLM_MODEL,
            "messages": messages,
            "stream": True,
            "max_tokens": settings.LLM_MAX_TOKENS,
            "temperature": settings.LLM_TEMPERATURE,
        }
        self._sdk_stream = None
        self.connection: _StopAwareStream | None = None  # the one its request went out on
        self._timed_out = False
        super().__init__()

    def _let_go(self) -> None:
        """From here on the connection may go back to the pool and serve
        another generation: a late stop must not touch it."""
        if self.connection is not None:
            self.connection.let_go(self)

    def _send(self):
        import openai

        _sending.stream = self
        try:
            try:
                return _create_stream({**self._request, "stream_options": {"include_usage": True}})
            except openai.APIStatusError as exc:
                if not _rejects_stream_options(exc):
                    raise
                # A server that does not know the option: ask without it.
                self._let_go()
                return _create_stream(self._request)
        except BaseException:
            self._let_go()
            raise
        finally:
            _sending.stream = None

    def _generate(self) -> Iterator[str]:
        model = finish = tokens = None
        started = False
        timeout = float(settings.LLM_TIMEOUT)
        try:
            # httpx's read timeout bounds the wait for the response headers.
            self._sdk_stream = self._send()
            self._sdk_stream.on_done = self._let_go
        except Exception as exc:
            if self.closed:
                return None
            logger.warning("language model request failed: %s", describe(exc))
            raise error_for(exc, started=False) from exc
        try:
            watchdog.arm(self, timeout)
            for chunk in self._sdk_stream:
                model = chunk.model or model
                if chunk.usage is not None:
                    tokens = usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                for choice in chunk.choices:
                    if choice.index != 0:
                        continue
                    text = choice.delta.content if choice.delta is not None else None
                    if choice.finish_reason:
                        finish = choice.finish_reason
                    if text:
                        started = True
                        watchdog.disarm(self)  # the consumer's time is not the model's
                        yield text
                        watchdog.arm(self, timeout)
        except Exception as exc:
            if self.closed:
                return None
            cause = TimeoutError() if self._timed_out else exc
            logger.warning("language model stream failed: %s", describe(cause))
            raise error_for(cause, started=started) from exc
        finally:
            watchdog.disarm(self)
            self._let_go()
            self._sdk_stream.close()
        if finish is None:
            if self.closed:
                return None
            if self._timed_out:
                raise error_for(TimeoutError(), started=started)
            raise ModelError("The language model's answer ended before the model finished.")
        return Completion(model=model or settings.LLM_MODEL, finish_reason=finish_reason(finish), usage=tokens)

    def expire(self) -> None:
        """The watchdog's: no text for LLM_TIMEOUT seconds."""
        self._timed_out = True
        self._interrupt()

    def _interrupt(self) -> None:
        if self.connection is not None:
            self.connection.shut_down_for(self)

    def _release(self) -> None:
        if self._sdk_stream is not None:
            self._sdk_stream.close()
