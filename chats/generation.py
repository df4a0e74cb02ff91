"""Generated answers: pairs whose response the language model writes.

A generation does not depend on the request that started it. In order:

1. A slot of this process's pool is taken (`LLM_WORKERS`; after a short wait,
   503 `model_busy`), before anything is stored.
2. The branch is claimed: `Branch.generating_response_id` is set by one
   conditional UPDATE, so a branch has one generation at a time (409
   `generation_in_progress`), and no lock is held while the model runs. A
   claim whose generation died with its process is recovered (`recover`).
3. The question is stored first, as a pair `generating` with an empty
   response (counted in the branch's `message_count` along with the new
   branch by create-chat, create-branch and regenerate; by add-message only
   once its first text is out, or else when its claim is released); then the
   context is read through the same path code as get-chat
   (`context_messages`).
4. A worker thread asks the model (`chats.llm`), keeps the text in memory for
   the readers of this process, saves it at most once a second and at the
   end (each save also sees a stop request stored by any process), then
   releases the claim. Every save bumps the chat's cache generation, so a
   reader of the chat sees the text so far.

Readers of another process (or after a restart) re-attach through the store:
they poll the pair and send what was saved since (`stored_events`).
"""

import concurrent.futures
import dataclasses
import datetime
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db import close_old_connections
from django.db.models import Case, F, When
from django.utils import timezone

from accounts.models import User
from chatproject.cache import bump_chat
from chatproject.errors import REGISTRY as ERRORS
from chatproject.errors import (
    ContentStoreUnavailable,
    DomainError,
    GenerationInProgress,
    ModelBusy,
    ModelError,
    ModelTimeout,
    ModelUnavailable,
    NotFound,
    ResponseRequired,
)

from . import content_repository, llm, services
from .content_repository import COMPLETE, FAILED, GENERATING, INTERRUPTED, StoredPair
from .models import Branch, Chat
from .selectors import chat_branches, chat_get, chat_with_branches, pair_get, path_page
from .services import ensure_writable

logger = logging.getLogger(__name__)

SAVE_EVERY = 1.0  # seconds between two saves of the text so far
SLOT_WAIT = 2.0  # how long a new generation waits for a free slot
STOP_WAIT = 3.0  # how long stop-generation waits for the generation to stop
POLL_EVERY = 0.5  # how often a reader of another process polls the store
# A generation counts as dead once nothing was saved for LLM_TIMEOUT plus this.
DEAD_MARGIN = 15.0
# The errors that end a generation; a pair they end keeps the code.
ENDING_ERRORS = (ModelUnavailable, ModelTimeout, ModelError, ContentStoreUnavailable)
ENDING_ERROR_CODES = tuple(error.code for error in ENDING_ERRORS)
# Room kept in a bucket for a response still to be generated (bytes per token,
# generously: most tokens are a few bytes of UTF-8).
BYTES_PER_TOKEN = 16


def ensure_enabled() -> None:
    if not llm.enabled():
        raise ResponseRequired()


def pair_options() -> dict:
    """How the services store a pair to be generated (`append_pair`'s
    arguments): a new response_id, status `generating` with the model's name,
    and room in its bucket for the response to come."""
    return {
        "response_id": uuid.uuid4(),
        "generation": {"status": GENERATING, "model": llm.model_name()},
        "reserve_bytes": min(settings.LLM_MAX_TOKENS * BYTES_PER_TOKEN, settings.MAX_MESSAGE_CHARS * 4),
    }


# The pool of this process.


class _Pool:
    def __init__(self, size: int):
        self.size = size
        self.slots = threading.BoundedSemaphore(size)
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=size, thread_name_prefix="generation")


_pool_lock = threading.Lock()
_pool: _Pool | None = None


def _current_pool() -> _Pool:
    global _pool
    with _pool_lock:
        if _pool is None or _pool.size != settings.LLM_WORKERS:
            # A new size (settings changed): running generations finish on the old pool.
            _pool = _Pool(settings.LLM_WORKERS)
        return _pool


class Slot:
    """A slot of the pool, taken before anything is stored and handed to the
    worker; released by whoever holds it last."""

    def __init__(self):
        self.pool = _current_pool()
        if not self.pool.slots.acquire(timeout=SLOT_WAIT):
            raise ModelBusy()
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self.pool.slots.release()


# Claims.


def claim_branch(*, chat_id: uuid.UUID, branch_id: uuid.UUID, response_id: uuid.UUID, attempts: int = 3) -> None:
    """Make `response_id`, a pair of add-message about to be stored, the
    branch's one generation (to be counted: `generating_uncounted`), or 409
    when another is running. A dead one is recovered first (a claim whose
    pair was never stored is simply taken over)."""
    if attempts == 0:  # others keep claiming it first
        raise GenerationInProgress()
    again = {"chat_id": chat_id, "branch_id": branch_id, "response_id": response_id, "attempts": attempts - 1}
    claim = {"generating_response_id": response_id, "generating_uncounted": True, "generating_since": timezone.now()}
    if Branch.objects.filter(pk=branch_id, generating_response_id__isnull=True).update(**claim):
        return
    held = Branch.objects.filter(pk=branch_id).values_list("generating_response_id", "generating_since").first()
    current, since = held or (None, None)
    if current is None:
        if not Branch.objects.filter(pk=branch_id).exists():
            raise NotFound("Branch not found in this chat.")
        return claim_branch(**again)
    pair = content_repository.read_pair(chat_id=chat_id, response_id=current)
    if pair is None:
        # Being started (its pair is stored milliseconds after the claim), or
        # a start that crashed before that: taken over, nothing to end or count.
        if since is not None and timezone.now() - since < datetime.timedelta(seconds=DEAD_MARGIN):
            raise GenerationInProgress()
        if not Branch.objects.filter(pk=branch_id, generating_response_id=current).update(**claim):
            raise GenerationInProgress()
        return
    if pair.status == GENERATING and not is_dead(pair):
        raise GenerationInProgress()
    if pair.status == GENERATING:
        recover(chat_id=chat_id, pair=pair)
    else:
        # Ended, but its process died before releasing the claim.
        release_branch(branch_id=str(branch_id), response_id=str(current))
    return claim_branch(**again)


def release_branch(*, branch_id: str, response_id: str) -> None:
    """End the claim of `response_id`, counting its pair if nobody did (one
    statement: whoever releases, the pair is counted once)."""
    Branch.objects.filter(pk=branch_id, generating_response_id=response_id).update(
        generating_response_id=None,
        generating_uncounted=False,
        generating_since=None,
        message_count=F("message_count") + Case(When(generating_uncounted=True, then=1), default=0),
    )


def unclaim_branch(*, branch_id: str, response_id: str) -> None:
    """Give up a claim whose pair could not be stored (nothing to count)."""
    Branch.objects.filter(pk=branch_id, generating_response_id=response_id).update(
        generating_response_id=None, generating_uncounted=False, generating_since=None
    )


def is_dead(pair: StoredPair) -> bool:
    """A pair still `generating` that nothing saved for longer than any live
    generation leaves it: its process died."""
    limit = datetime.timedelta(seconds=settings.LLM_TIMEOUT + DEAD_MARGIN)
    return pair.status == GENERATING and (pair.saved_at is None or timezone.now() - pair.saved_at > limit)


def recover(*, chat_id: uuid.UUID, pair: StoredPair) -> StoredPair:
    """End a dead generation: the pair becomes interrupted with the text it
    had saved (failed when it had none), and its branch is free again."""
    outcome = _outcome(INTERRUPTED if pair.response else FAILED, "interrupted" if pair.response else "error")
    content_repository.save_generation(
        chat_id=chat_id,
        branch_id=pair.branch_id,
        response_id=pair.response_id,
        response=pair.response,
        outcome=outcome,
        unless_stopped=False,
    )
    release_branch(branch_id=pair.branch_id, response_id=pair.response_id)
    bump_chat(chat_id)
    return content_repository.read_pair(chat_id=chat_id, response_id=pair.response_id) or pair


def recover_pair(*, chat_id: uuid.UUID, response_id: str) -> None:
    """`recover` for reconcile_content, which knows the pair by its id."""
    pair = content_repository.read_pair(chat_id=chat_id, response_id=response_id)
    if pair is not None and is_dead(pair):
        recover(chat_id=chat_id, pair=pair)


def _outcome(status, finish_reason, *, usage=None, error_code=None):
    return {"status": status, "finish_reason": finish_reason, "usage": usage, "error_code": error_code}


# Generations of this process.


class Generation:
    """One generation running in this process: its text so far, shared with
    the readers of this process, and how it ended."""

    def __init__(
        self, *, chat_id: str, branch_id: str, pair: StoredPair, position: int, count: Callable[[], None] | None = None
    ):
        self.chat_id, self.branch_id = chat_id, branch_id
        self.response_id = pair.response_id
        self.started = pair  # the pair as stored at the start
        self.position = position
        self.pieces: list[str] = []
        self.length = 0
        self.final: StoredPair | None = None
        self.error: DomainError | None = None
        self._changed = threading.Condition()
        self.stream: llm.CompletionStream | None = None
        self.stop_requested = False
        # Counts the pair in PostgreSQL, when the caller left that to the
        # worker (add-message, see message_generate); run once.
        self._count = count

    @property
    def done(self) -> bool:
        return self.final is not None

    def text(self) -> str:
        return "".join(self.pieces)

    def add(self, piece: str) -> None:
        with self._changed:
            self.pieces.append(piece)
            self.length += len(piece)
            self._changed.notify_all()

    def finish(self, final: StoredPair, error: DomainError | None) -> None:
        with self._changed:
            self.final, self.error = final, error
            self._changed.notify_all()

    def changes(self, *, offset: int) -> Iterator[tuple[str, int]]:
        """(text, offset) of what is generated from `offset` on, as it comes;
        ends when the generation does."""
        index, seen = 0, 0
        while True:
            with self._changed:
                while index == len(self.pieces) and not self.done:
                    self._changed.wait(timeout=5)
                new = self.pieces[index:]
                index = len(self.pieces)
                finished = self.done
            for piece in new:
                start, seen = seen, seen + len(piece)
                if seen <= offset:
                    continue
                cut = max(offset - start, 0)
                yield piece[cut:], start + cut
            if finished and index == len(self.pieces):
                return

    def wait(self, timeout: float | None = None) -> StoredPair | None:
        """The pair as finally stored, once the generation ended (None when
        `timeout` seconds passed first)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while not self.done:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._changed.wait(timeout=5 if left is None else min(left, 5))
        return self.final

    def count(self) -> NotFound | None:
        """Count the pair, once (by the worker): NotFound when its branch was
        deleted meanwhile, and its content with it."""
        count, self._count = self._count, None
        return _run_count(count, self.response_id)

    def stop(self) -> None:
        """Stop at once, from any thread: the model's stream is closed."""
        self.stop_requested = True
        if self.stream is not None:
            self.stream.close()


def _run_count(count: Callable[[], None] | None, response_id: str) -> NotFound | None:
    if count is None:
        return None
    try:
        count()
    except NotFound as exc:
        return exc
    except Exception:  # noqa: BLE001 - the answer is worth more than its count
        # Still marked uncounted: the release of the claim counts it.
        logger.exception("pair %s could not be counted yet", response_id)
    return None


_running: dict[str, Generation] = {}
_running_lock = threading.Lock()


def running(response_id) -> Generation | None:
    with _running_lock:
        return _running.get(str(response_id))


def launch(
    *, slot: Slot, chat_id, branch_id, pair: StoredPair, position: int, messages: list[dict], count=None
) -> Generation:
    """Hand a stored `generating` pair and its context to a worker; the slot
    passes to it (and `count`, see Generation)."""
    generation = Generation(chat_id=str(chat_id), branch_id=str(branch_id), pair=pair, position=position, count=count)
    with _running_lock:
        _running[generation.response_id] = generation
    try:
        slot.pool.executor.submit(_work, generation, messages, slot)
    except Exception:
        with _running_lock:
            _running.pop(generation.response_id, None)
        raise
    return generation


def _work(generation: Generation, messages: list[dict], slot: Slot) -> None:
    try:
        _generate(generation, messages)
    except Exception:  # noqa: BLE001 - a worker must never die silently
        logger.exception("generation %s failed", generation.response_id)
        if not generation.done:
            # Not left `generating` (and its branch claimed) until it counts as dead.
            error = ModelError("The generation failed.")
            final = _abandon(
                chat_id=generation.chat_id, pair=generation.started, text=generation.text(), error_code=error.code
            )
            generation.finish(final, error)
    finally:
        slot.release()
        with _running_lock:
            _running.pop(generation.response_id, None)
        close_old_connections()


def _generate(generation: Generation, messages: list[dict]) -> None:
    ids = {"chat_id": generation.chat_id, "branch_id": generation.branch_id, "response_id": generation.response_id}
    limit = settings.MAX_MESSAGE_CHARS
    stream = None
    error: DomainError | None = None
    stopped = truncated = False
    try:
        stream = generation.stream = llm.start(messages)
        if generation.stop_requested:
            stream.close()
        last_save = time.monotonic()
        for piece in stream:
            room = limit - generation.length
            if len(piece) >= room:
                piece, truncated = piece[:room], True
            if piece:
                generation.add(piece)
                # Counted once its first text is on its way to the readers,
                # which therefore never wait for it.
                gone = generation.count()
                if gone is not None:
                    error = gone
                    break
            if truncated:
                break
            if time.monotonic() - last_save >= SAVE_EVERY:
                last_save = time.monotonic()
                if not content_repository.save_generation(
                    **ids, response=generation.text(), unless_stopped=True
                ):
                    stopped = True  # asked to stop (or the pair is gone)
                    break
                bump_chat(generation.chat_id)
    except ENDING_ERRORS as exc:
        error = exc
    finally:
        if stream is not None:
            stream.close()  # no more tokens: the server stops generating
    # No text came: counted now (or at the release), unless its branch went.
    error = generation.count() or error

    stopped = stopped or generation.stop_requested
    text = generation.text()
    if error is not None:
        outcome = _outcome(INTERRUPTED if text else FAILED, "error", error_code=error.code)
    elif stopped:
        outcome = _outcome(INTERRUPTED, "interrupted")
    else:
        result = stream.result
        finish_reason = "length" if truncated else (result.finish_reason if result else "stop")
        outcome = _outcome(COMPLETE, finish_reason, usage=result.usage if result else None)
        if result is not None:
            outcome["model"] = result.model
    try:
        content_repository.save_generation(**ids, response=text, outcome=outcome, unless_stopped=False)
        final = content_repository.read_pair(chat_id=generation.chat_id, response_id=generation.response_id)
    except ContentStoreUnavailable as exc:
        logger.error("generation %s could not be saved: %s", generation.response_id, exc)
        final, error = None, error or exc
    try:
        release_branch(branch_id=generation.branch_id, response_id=generation.response_id)
        Chat.objects.filter(pk=generation.chat_id).update(updated_at=timezone.now())
    finally:
        bump_chat(generation.chat_id)
    if final is None:
        # Gone (its branch or chat was deleted meanwhile) or not saved.
        final = dataclasses.replace(generation.started, response=text, **_as_fields(outcome))
    generation.finish(final, error)


def _as_fields(outcome: dict) -> dict:
    return {k: v for k, v in outcome.items() if k in {"status", "finish_reason", "usage", "model", "error_code"}}


# Starting one.


def begin(
    *,
    slot: Slot,
    chat: Chat,
    pair: StoredPair,
    position: int,
    branches: list[Branch] | None = None,
    count: Callable[[], None] | None = None,
) -> Generation:
    """Read the context of a stored `generating` pair and launch its
    generation (`branches`: the chat's, when the caller has read them;
    `count`: counts the pair, when the caller leaves that to the worker).
    Should that fail, the pair is left failed and its branch free (and the
    pair counted, as every release of a claim does)."""
    try:
        if branches is None:
            branches = chat_branches(chat=chat)
        branch = _branch_in(branches, pair.branch_id)
        history, _ = path_page(
            chat_id=chat.id, branches=branches, branch=branch, limit=settings.LLM_CONTEXT_PAIRS, before_stored=pair
        )
        messages = context_messages(question=pair.question, history=history)
        return launch(
            slot=slot,
            chat_id=chat.id,
            branch_id=pair.branch_id,
            pair=pair,
            position=position,
            messages=messages,
            count=count,
        )
    except Exception:
        _abandon(chat_id=chat.id, pair=pair)  # which counts it, releasing its claim
        raise


def _branch_in(branches: list[Branch], branch_id) -> Branch:
    branch = next((b for b in branches if str(b.id) == str(branch_id)), None)
    if branch is None:
        raise NotFound("Branch not found in this chat.")
    return branch


def _abandon(*, chat_id, pair: StoredPair, text: str = "", error_code: str | None = None) -> StoredPair:
    """End a generation that could not run (on): the pair failed, or
    interrupted with the `text` it had; its branch free again. Returns the
    pair as it was meant to be stored."""
    outcome = _outcome(INTERRUPTED if text else FAILED, "error", error_code=error_code)
    try:
        content_repository.save_generation(
            chat_id=chat_id,
            branch_id=pair.branch_id,
            response_id=pair.response_id,
            response=text,
            outcome=outcome,
            unless_stopped=False,
        )
    except ContentStoreUnavailable:
        logger.error("pair %s left generating; it will count as interrupted", pair.response_id)
    release_branch(branch_id=pair.branch_id, response_id=pair.response_id)
    bump_chat(chat_id)
    return dataclasses.replace(pair, response=text, **_as_fields(outcome))


def message_generate(*, user: User, chat_id: uuid.UUID, branch_id: uuid.UUID | None = None, question: str) -> Generation:
    """add-message without a response: store the question on the branch (the
    active one by default) and have the model answer it.

    The time to the model's first token is what a user waits for, so the
    path to the model is kept short: the chat and its branches are read in
    one query (the branches serve the context too), and the worker counts
    the pair in PostgreSQL only once the first text is on its way to the
    readers (or the generation ended without any), so neither the request
    nor the first token waits for the count. A branch deleted meanwhile ends
    the generation with NotFound (a 404, or a stream's `error` event) and the
    model's stream closed."""
    ensure_enabled()
    chat, branches = chat_with_branches(user=user, chat_id=chat_id)
    ensure_writable(chat)
    branch = _branch_in(branches, branch_id or chat.active_branch_id)
    slot = Slot()
    try:
        options = pair_options()
        claim_branch(chat_id=chat.id, branch_id=branch.id, response_id=options["response_id"])
        try:
            pair = content_repository.append_pair(
                chat_id=chat.id, branch_id=branch.id, question=question, response="", **options
            )
        except Exception:
            unclaim_branch(branch_id=str(branch.id), response_id=str(options["response_id"]))
            raise

        def count():
            services.count_generated_pair(chat_id=chat.id, branch_id=branch.id, response_id=pair.response_id)

        position = branch.fork_position + pair.index
        generation = begin(slot=slot, chat=chat, pair=pair, position=position, branches=branches, count=count)
    except Exception:
        slot.release()  # not yet handed to a worker
        raise
    # The chat's cached reads are stale from the append on (the count bumps
    # them only later): a reader learning of the pair must find it. Done while
    # the worker asks the model, before the response names the pair.
    bump_chat(chat.id)
    return generation


def chat_generate(*, user: User, title: str | None = None, question: str) -> tuple[Chat, Generation]:
    """create-chat with a question alone: the chat, its first pair generated."""
    ensure_enabled()
    slot = Slot()
    try:
        chat, pair = services.chat_create(user=user, title=title, question=question, generation=pair_options())
        return chat, begin(slot=slot, chat=chat, pair=pair, position=0)
    except Exception:
        slot.release()
        raise


# Context.


def context_messages(*, question: str, history: list[dict]) -> list[dict]:
    """The messages the model is asked with: the system prompt, the newest
    pairs of `history` (a page of the branch's path, oldest first) that fit
    both LLM_CONTEXT_PAIRS and LLM_CONTEXT_CHARS, oldest first (failed pairs
    left out, interrupted ones with their partial text), then the question."""
    budget = settings.LLM_CONTEXT_CHARS - len(question)
    kept: list[dict] = []
    for pair in reversed(history):
        if len(kept) == settings.LLM_CONTEXT_PAIRS:
            break
        if pair["status"] in (FAILED, GENERATING):
            continue
        size = len(pair["question"]) + len(pair["response"])
        if size > budget:
            break
        budget -= size
        kept.append(pair)
    messages = [{"role": "system", "content": settings.LLM_SYSTEM_PROMPT}] if settings.LLM_SYSTEM_PROMPT else []
    for pair in reversed(kept):
        messages += [
            {"role": "user", "content": pair["question"]},
            {"role": "assistant", "content": pair["response"]},
        ]
    return [*messages, {"role": "user", "content": question}]


# Stop and re-attach.


def generation_stop(*, user: User, chat_id: uuid.UUID, response_id: uuid.UUID) -> tuple[StoredPair, int]:
    """stop-generation: the pair as stored once stopped, with its position."""
    chat = chat_get(user=user, chat_id=chat_id)
    ensure_writable(chat)
    pair, position = pair_get(user=user, chat_id=chat.id, response_id=response_id)
    return stop(chat_id=chat.id, pair=pair), position


def stop(*, chat_id: uuid.UUID, pair: StoredPair) -> StoredPair:
    """Stop the generation of `pair`, wherever it runs: the request is stored,
    the generation sees it at its next save (within about a second), closes
    the model's stream and stores what it had as interrupted. A generation
    whose process died is ended here. A finished pair comes back unchanged."""
    if pair.status != GENERATING:
        return pair
    if is_dead(pair):
        return recover(chat_id=chat_id, pair=pair)
    content_repository.request_stop(chat_id=chat_id, branch_id=pair.branch_id, response_id=pair.response_id)
    deadline = time.monotonic() + STOP_WAIT
    local = running(pair.response_id)
    if local is not None:
        local.stop()
        local.wait(timeout=STOP_WAIT)
    while time.monotonic() < deadline:
        current = content_repository.read_pair(chat_id=chat_id, response_id=pair.response_id)
        if current is None:
            raise NotFound("No pair with this response_id in this chat.")
        if current.status != GENERATING:
            return current
        time.sleep(0.1)
    # Nobody acted on the request in time: the generation's process is gone
    # or stuck; end it from here with what was saved.
    current = content_repository.read_pair(chat_id=chat_id, response_id=pair.response_id)
    return recover(chat_id=chat_id, pair=current) if current.status == GENERATING else current


@dataclasses.dataclass
class Event:
    name: str  # "pair", "delta", "done" or "error"
    data: object


def attach(
    *, chat_id: uuid.UUID, pair: StoredPair, represent: Callable[[StoredPair], dict]
) -> tuple[StoredPair, Iterator[Event]]:
    """Re-attach to the generation of `pair` (as read from the store): the
    pair with its text so far, and the events from there on (for a pair no
    longer generating, its end event at once). From this process's generation
    when it runs here, else from the store."""
    local = running(pair.response_id)
    if local is not None and pair.status == GENERATING:
        snapshot = dataclasses.replace(pair, response=local.text())
        return snapshot, local_events(local, offset=len(snapshot.response), represent=represent)
    if is_dead(pair):
        pair = recover(chat_id=chat_id, pair=pair)
    return pair, stored_events(chat_id=chat_id, pair=pair, represent=represent)


def local_events(generation: Generation, *, offset: int, represent) -> Iterator[Event]:
    """The deltas of a generation of this process from `offset` on, as they
    are generated, then `done` or `error`."""
    for text, at in generation.changes(offset=offset):
        yield Event("delta", {"response_id": generation.response_id, "text": text, "offset": at})
    yield _end_event(generation.final, generation.error, represent)


def stored_events(*, chat_id: uuid.UUID, pair: StoredPair, represent) -> Iterator[Event]:
    """Re-attach through the store: poll the pair and send what was saved
    since, until it is no longer generating (at most about a second behind
    the generation, which saves once a second)."""
    sent = len(pair.response)
    current = pair
    while True:
        if len(current.response) > sent:
            yield Event("delta", {"response_id": current.response_id, "text": current.response[sent:], "offset": sent})
            sent = len(current.response)
        if current.status != GENERATING:
            break
        if is_dead(current):
            current = recover(chat_id=chat_id, pair=current)
            continue
        time.sleep(POLL_EVERY)
        latest = content_repository.read_pair(chat_id=chat_id, response_id=pair.response_id)
        if latest is None:
            yield Event("error", _error_body(NotFound("The pair was deleted.")))
            return
        current = latest
    error = _stored_error(current)
    yield _end_event(current, error, represent)


def _stored_error(pair: StoredPair) -> DomainError | None:
    error_class = ERRORS.get(pair.error_code or "")
    return error_class() if error_class else None


def _end_event(final: StoredPair, error: DomainError | None, represent) -> Event:
    if error is None:
        return Event("done", represent(final))
    return Event("error", {**_error_body(error), "pair": represent(final)})


def _error_body(error: DomainError) -> dict:
    error_type = "server_error" if error.status >= 500 else "client_error"
    return {"type": error_type, "errors": [{"code": error.code, "detail": error.detail, "attr": None}]}
