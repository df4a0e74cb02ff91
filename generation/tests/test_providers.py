"""generation.providers against real models: the bundled SmolLM2 in this process
(`local`), and the same file behind llama-cpp-python's OpenAI-compatible
server (`openai`), directly or through `model_proxy` to make it fail.

Tiny models are not deterministic, even at temperature 0: these tests assert
the structure of what comes back, never its wording."""

import threading
import time
from pathlib import Path

import pytest

from chatproject.errors import (
    ModelError,
    ModelTimeout,
    ModelUnavailable,
    ResponseRequired,
)
from generation import providers
from generation.providers.local import default_model_path

QUESTION = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Name three colours."},
]
LONG_QUESTION = [
    {"role": "user", "content": "Write the numbers from 1 to 300 in words, separated by commas."},
]


def assert_answer(stream, pieces):
    assert pieces, "no text"
    assert all(isinstance(piece, str) and piece for piece in pieces)
    assert "".join(pieces).strip()
    result = stream.result
    assert isinstance(result, providers.Completion)
    assert isinstance(result.model, str) and result.model
    assert result.finish_reason in {"stop", "length"}
    return result


def assert_usage(usage, *, max_tokens, finish_reason):
    assert set(usage) == {"prompt_tokens", "completion_tokens"}
    assert all(isinstance(n, int) and n > 0 for n in usage.values())
    assert usage["completion_tokens"] <= max_tokens
    if finish_reason == "length":
        assert usage["completion_tokens"] == max_tokens


def consume_in_thread(stream):
    """Iterate `stream` in a thread of its own; returns (thread, pieces, errors)."""
    pieces, errors = [], []

    def run():
        try:
            for piece in stream:
                pieces.append(piece)
        except Exception as exc:  # noqa: BLE001 - the test asserts there is none
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, pieces, errors


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.005)


# Off.


def test_off_needs_a_response(settings):
    settings.LLM_PROVIDER = "off"
    assert not providers.enabled()
    assert providers.check() == "off"
    with pytest.raises(ResponseRequired):
        providers.start(QUESTION)


# Local: llama.cpp in this process.


def test_local_generates_text_and_a_completion(local_provider):
    assert providers.enabled()
    stream = providers.start(QUESTION)
    pieces = list(stream)
    result = assert_answer(stream, pieces)
    assert result.model == providers.model_name() == Path(default_model_path()).stem
    assert_usage(result.usage, max_tokens=local_provider.LLM_MAX_TOKENS, finish_reason=result.finish_reason)
    stream.close()  # after the end: harmless, the result stays
    assert stream.result is result
    assert list(stream) == []


def test_local_stops_at_max_tokens(local_provider):
    local_provider.LLM_MAX_TOKENS = 5
    stream = providers.start(LONG_QUESTION)
    pieces = list(stream)
    result = assert_answer(stream, pieces)
    assert result.finish_reason == "length"
    assert result.usage["completion_tokens"] == 5
    stream.close()


def test_local_close_from_another_thread_ends_the_loop(local_provider):
    local_provider.LLM_MAX_TOKENS = 400
    stream = providers.start(LONG_QUESTION)
    thread, pieces, errors = consume_in_thread(stream)
    wait_for(lambda: len(pieces) >= 2)
    stream.close()
    thread.join(5)
    assert not thread.is_alive() and not errors
    assert stream.result is None
    assert len(pieces) < 100  # stopped long before 400 tokens
    stream.close()  # idempotent
    # The model context went back to the pool: the next generation gets it.
    again = providers.start(QUESTION)
    assert list(again) and again.result is not None
    again.close()


def test_local_close_inside_the_loop(local_provider):
    local_provider.LLM_MAX_TOKENS = 400
    stream = providers.start(LONG_QUESTION)
    seen = []
    for piece in stream:
        seen.append(piece)
        if len(seen) == 2:
            stream.close()
    assert len(seen) == 2
    assert stream.result is None


def test_local_generations_on_two_threads_both_complete(local_provider):
    results, errors = [], []
    barrier = threading.Barrier(2)

    def generate():
        try:
            barrier.wait(5)
            stream = providers.start(QUESTION)
            pieces = list(stream)
            stream.close()
            results.append((pieces, stream.result))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=generate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert len(results) == 2
    for pieces, result in results:
        assert pieces and all(pieces)
        assert result.finish_reason in {"stop", "length"}
        assert_usage(result.usage, max_tokens=local_provider.LLM_MAX_TOKENS, finish_reason=result.finish_reason)


def test_local_waits_for_a_free_context_then_times_out(local_provider):
    local_provider.LLM_WORKERS = 1
    local_provider.LLM_TIMEOUT = 0.3
    first = providers.start(QUESTION)
    started = time.monotonic()
    with pytest.raises(ModelTimeout):
        providers.start(QUESTION)
    assert 0.3 <= time.monotonic() - started < 1.5
    first.close()  # frees its context…
    second = providers.start(QUESTION)  # … for the next one
    assert list(second)
    second.close()


def test_local_prompt_beyond_the_context_is_a_model_error(local_provider):
    too_long = [{"role": "user", "content": "word " * 12000}]  # more tokens than SmolLM2's 8192
    stream = providers.start(too_long)
    with pytest.raises(ModelError):
        next(stream)  # the first step evaluates the prompt
    stream.close()
    again = providers.start(QUESTION)  # the context is still usable
    assert list(again)
    again.close()


def test_local_missing_model_file(local_provider, tmp_path):
    local_provider.LLM_MODEL_PATH = str(tmp_path / "nothing.gguf")
    with pytest.raises(ModelUnavailable):
        providers.start(QUESTION)
    assert providers.check() == "down"
    (tmp_path / "nothing.gguf").write_bytes(b"not a model")
    with pytest.raises(ModelUnavailable):
        providers.start(QUESTION)
    assert providers.check() == "down"


def test_local_check(local_provider):
    assert providers.check() == "ok"


# openai: llama-cpp-python's OpenAI-compatible server.


def test_openai_generates_text_and_a_completion(openai_provider):
    stream = providers.start(QUESTION)
    pieces = list(stream)
    result = assert_answer(stream, pieces)
    assert result.model == providers.model_name() == "smollm2"  # the server echoes the name asked for
    # llama_cpp.server accepts stream_options but sends no usage when streaming.
    if result.usage is not None:
        assert_usage(result.usage, max_tokens=openai_provider.LLM_MAX_TOKENS, finish_reason=result.finish_reason)
    stream.close()
    assert stream.result is result


def test_openai_request_shape(openai_provider, model_proxy):
    openai_provider.LLM_BASE_URL = model_proxy.url
    openai_provider.LLM_API_KEY = "sk-test-key"
    openai_provider.LLM_TEMPERATURE = 0.0
    stream = providers.start(QUESTION)
    assert list(stream)
    stream.close()
    [(method, path, body)] = model_proxy.requests
    assert (method, path) == ("POST", "/v1/chat/completions")
    assert body["model"] == "smollm2"
    assert body["messages"] == QUESTION
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == openai_provider.LLM_MAX_TOKENS
    assert body["temperature"] == 0.0
    assert model_proxy.upstream_finished.is_set()


def test_openai_close_stops_the_servers_generation(openai_provider, model_proxy, llama_server):
    openai_provider.LLM_BASE_URL = model_proxy.url
    openai_provider.LLM_MAX_TOKENS = 400
    disconnects_before = llama_server.log().count("Disconnected from client")
    stream = providers.start(LONG_QUESTION)
    thread, pieces, errors = consume_in_thread(stream)
    wait_for(lambda: len(pieces) >= 2)
    stream.close()
    thread.join(5)
    assert not thread.is_alive() and not errors
    assert stream.result is None
    # The connection was dropped before the model finished: the proxy saw its
    # client go, stopped reading and closed its own connection to the server…
    assert model_proxy.client_disconnected.wait(5)
    assert model_proxy.upstream_closed_early.is_set()
    assert not model_proxy.upstream_finished.is_set()
    # … and the server saw it go too, and stopped generating.
    wait_for(lambda: llama_server.log().count("Disconnected from client") > disconnects_before)


def test_openai_close_before_iterating_sends_nothing(openai_provider, model_proxy):
    openai_provider.LLM_BASE_URL = model_proxy.url
    openai_provider.LLM_MAX_TOKENS = 400
    stream = providers.start(LONG_QUESTION)
    stream.close()
    stream.close()
    assert list(stream) == []
    assert stream.result is None
    assert model_proxy.requests == []


def test_openai_closed_port_is_unavailable_fast(openai_provider, model_proxy):
    model_proxy.mode = "closed"
    openai_provider.LLM_BASE_URL = model_proxy.url
    started = time.monotonic()
    with pytest.raises(ModelUnavailable):
        next(providers.start(QUESTION))
    assert time.monotonic() - started < 2


def test_openai_unknown_host_is_unavailable(openai_provider):
    openai_provider.LLM_BASE_URL = "http://model.invalid/v1"
    with pytest.raises(ModelUnavailable):
        next(providers.start(QUESTION))


def test_openai_slow_first_token_times_out(openai_provider, model_proxy):
    model_proxy.mode, model_proxy.delay = "slow_first_token", 3.0
    openai_provider.LLM_BASE_URL = model_proxy.url
    openai_provider.LLM_TIMEOUT = 1.0
    started = time.monotonic()
    with pytest.raises(ModelTimeout):
        next(providers.start(QUESTION))  # the proxy holds back even the response headers
    assert time.monotonic() - started < 2.5


def test_openai_silent_server_times_out(openai_provider, model_proxy):
    model_proxy.mode = "silent"
    openai_provider.LLM_BASE_URL = model_proxy.url
    openai_provider.LLM_TIMEOUT = 1.0
    started = time.monotonic()
    with pytest.raises(ModelTimeout):
        next(providers.start(QUESTION))
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize("status", [500, 404, 401])
def test_openai_http_error_is_a_model_error(openai_provider, model_proxy, status):
    model_proxy.mode, model_proxy.status = "error", status
    openai_provider.LLM_BASE_URL = model_proxy.url
    openai_provider.LLM_API_KEY = "sk-very-secret-key"
    with pytest.raises(ModelError) as caught:
        next(providers.start(QUESTION))
    assert str(status) in caught.value.detail
    assert "sk-very-secret-key" not in caught.value.detail


@pytest.mark.parametrize(
    ("mode", "detail"),
    [
        ("cut", "The language model server broke off its answer."),
        ("error_event", "The language model server reported an error: the model ran out of memory"),
    ],
    ids=["connection cut", "error event"],
)
def test_a_stream_broken_off_after_some_text_says_how(openai_provider, model_proxy, mode, detail):
    model_proxy.mode, model_proxy.cut_after = mode, 4  # the role chunk, then 3 pieces of text
    openai_provider.LLM_BASE_URL = model_proxy.url
    stream = providers.start(QUESTION)
    pieces = []
    with pytest.raises(ModelError) as caught:
        for piece in stream:
            pieces.append(piece)
    assert caught.value.detail == detail
    assert pieces
    assert stream.result is None
    stream.close()


def test_generations_share_kept_alive_connections(openai_provider, model_proxy):
    model_proxy.keep_alive = True
    openai_provider.LLM_BASE_URL = model_proxy.url
    for _ in range(3):
        stream = providers.start(QUESTION)
        assert list(stream)
        stream.close()
    assert len(model_proxy.requests) == 3
    assert model_proxy.connections == 1


def test_a_stream_closed_before_the_server_answers_drops_its_connection_at_once(openai_provider, model_proxy):
    """A stop before the first byte (the server still reading the prompt, or
    queueing the request) closes the connection the request went out on, and
    only that one."""
    model_proxy.keep_alive = True
    openai_provider.LLM_BASE_URL = model_proxy.url
    warm = providers.start(QUESTION)  # leaves a kept-alive connection in the pool
    assert list(warm)
    warm.close()
    model_proxy.upstream_finished.clear()  # the proxy's record is of the next request
    model_proxy.mode, model_proxy.delay = "slow_first_token", 30.0
    stream = providers.start(QUESTION)
    thread, pieces, errors = consume_in_thread(stream)
    wait_for(lambda: len(model_proxy.requests) == 2)
    closed_at = time.monotonic()
    stream.close()
    thread.join(2)
    assert not thread.is_alive() and not errors and pieces == []
    assert model_proxy.client_disconnected.wait(2)
    assert time.monotonic() - closed_at < 0.5
    assert stream.result is None
    # The next generation gets a connection that works.
    model_proxy.mode = "pass"
    again = providers.start(QUESTION)
    assert list(again)
    again.close()


@pytest.mark.parametrize("ping_every", [0.0, 0.3], ids=["silence", "keep-alive pings"])
def test_openai_stall_mid_stream_times_out(openai_provider, model_proxy, ping_every):
    model_proxy.mode, model_proxy.cut_after = "stall", 4
    model_proxy.delay, model_proxy.ping_every = 4.0, ping_every
    openai_provider.LLM_BASE_URL = model_proxy.url
    openai_provider.LLM_TIMEOUT = 1.0
    stream = providers.start(QUESTION)
    pieces = []
    started = time.monotonic()
    with pytest.raises(ModelTimeout):
        for piece in stream:
            pieces.append(piece)
    assert pieces
    assert time.monotonic() - started < 3
    stream.close()


def test_openai_check(openai_provider, model_proxy):
    assert providers.check() == "ok"
    openai_provider.LLM_BASE_URL = model_proxy.url
    model_proxy.mode = "pass"
    assert providers.check() == "ok"
    assert model_proxy.requests[-1][:2] == ("GET", "/v1/models")
    model_proxy.mode = "error"
    assert providers.check() == "down"
    model_proxy.mode = "closed"
    openai_provider.LLM_BASE_URL = model_proxy.url
    assert providers.check() == "down"
    model_proxy.mode = "silent"
    openai_provider.LLM_BASE_URL = model_proxy.url
    started = time.monotonic()
    assert providers.check() == "down"
    assert time.monotonic() - started < 3


def test_prepare_asks_the_server_nothing_and_never_raises(openai_provider, model_proxy, tmp_path):
    """A server process prepares the model when it starts (chats.apps): no
    question is put to a model server, and a missing model is left for the
    health check and the first generation to report."""
    openai_provider.LLM_BASE_URL = model_proxy.url
    providers.prepare()
    assert model_proxy.requests == []
    openai_provider.LLM_PROVIDER = "local"
    openai_provider.LLM_MODEL_PATH = str(tmp_path / "nothing.gguf")
    providers.prepare()
    assert providers.check() == "down"
