"""One service per operation that generates, for every entry point (the
API's routes; the admin and the commands generate nothing):

- `message_generate`: add-message without a response;
- `chat_generate`: create-chat with a question alone;
- `branch_generate`: create-branch with a question alone (an edit);
- `pair_regenerate`: regenerate;
- `generation_stop`: stop-generation;
- `generation_attach`: stream-message.

Starting one, in order: a model context of this process for the `local`
provider (`worker.Slot`); a place in the deployment and the branch's claim
(`admission`), before anything is stored; the question stored as a pair
`generating` (through the chats and branches services); its context read;
the generation launched on a thread of its own (`worker`). Should anything
fail after the admission, the place is given back, and a pair already
stored is left `failed` with its branch free.
"""

import contextlib
import uuid
from collections.abc import Iterator

from django.conf import settings

from accounts.models import User
from branches import services as branch_services
from branches.selectors import regeneration_fork
from chatproject.cache import bump_chat
from chatproject.errors import NotFound, ResponseRequired
from chats import content_repository
from chats import services as chat_services
from chats.content_repository import GENERATING, StoredPair
from chats.models import Branch, Chat
from chats.selectors import chat_get, chat_with_branches, pair_get
from chats.services import ensure_writable

from . import admission, claims, context, endings, events, providers, readers, stopping, worker
from .worker import Generation

# Room kept in a bucket for a response still to be generated (bytes per token,
# generously: most tokens are a few bytes of UTF-8).
BYTES_PER_TOKEN = 16


def ensure_enabled() -> None:
    if not providers.enabled():
        raise ResponseRequired()


def pair_fields(response_id: uuid.UUID) -> dict:
    """How a pair to be generated is stored (`append_pair`'s arguments):
    status `generating` with the model's name, and room in its bucket for
    the response to come."""
    return {
        "response_id": response_id,
        "generation": {"status": GENERATING, "model": providers.model_name()},
        "reserve_bytes": min(settings.LLM_MAX_TOKENS * BYTES_PER_TOKEN, settings.MAX_MESSAGE_CHARS * 4),
    }


class _Place:
    """A new generation's place: the process's slot (which passes to the
    worker), its pair's response id, and whether that pair is stored yet."""

    def __init__(self, slot: worker.Slot):
        self.slot = slot
        self.response_id = uuid.uuid4()
        self.stored = False


@contextlib.contextmanager
def _admitted(*, user: User, chat_id, branch_id, uncounted: bool):
    """A place for a new generation on this branch. Should what follows fail,
    the place is given back; once the pair is stored, its run is left to
    whoever ends it (`_launch`'s abandon, or the reaper)."""
    place = _Place(worker.Slot())
    try:
        admission.admit(
            user_id=user.pk, chat_id=chat_id, branch_id=branch_id, response_id=place.response_id, uncounted=uncounted
        )
    except Exception:
        place.slot.release()
        raise
    try:
        yield place
    except Exception:
        place.slot.release()  # not handed to a worker
        admission.withdraw(place.response_id, stored=place.stored)
        raise


def _launch(place: _Place, *, chat: Chat, pair: StoredPair, position: int, uncounted: bool, branches=None) -> Generation:
    """Read the context of a stored `generating` pair and launch its
    generation; should that fail, the pair is left failed and its branch
    free (and the pair counted, as every release of a run does)."""
    try:
        messages = context.read(chat=chat, pair=pair, branches=branches)
        return worker.launch(
            slot=place.slot,
            chat_id=chat.id,
            branch_id=pair.branch_id,
            pair=pair,
            position=position,
            uncounted=uncounted,
            messages=messages,
        )
    except Exception:
        _abandon(chat_id=chat.id, pair=pair)
        raise


def _abandon(*, chat_id, pair: StoredPair) -> None:
    """Should the save fail too, the run stays for the reaper to end."""
    content_repository.save_generation(
        chat_id=chat_id,
        branch_id=pair.branch_id,
        response_id=pair.response_id,
        response="",
        outcome=endings.outcome(content_repository.FAILED, "error"),
    )
    claims.release(pair.response_id)
    bump_chat(chat_id)


def message_generate(*, user: User, chat_id: uuid.UUID, branch_id: uuid.UUID | None = None, question: str) -> Generation:
    """add-message without a response: store the question on the branch (the
    active one by default) and have the model answer it.

    The time to the model's first token is what a user waits for, so the
    path to the model is kept short: the chat and its branches are read in
    one query (they serve the context too), and the worker counts the pair
    only at its first save of the text, a second in (or at its end, if
    sooner). A branch deleted meanwhile ends the generation then with
    NotFound (a 404, or a stream's `error` event) and the model's stream
    closed."""
    ensure_enabled()
    chat, branches = chat_with_branches(user=user, chat_id=chat_id)
    ensure_writable(chat)
    branch = context.branch_in(branches, branch_id or chat.active_branch_id)
    with _admitted(user=user, chat_id=chat.id, branch_id=branch.id, uncounted=True) as place:
        pair = content_repository.append_pair(
            chat_id=chat.id, branch_id=branch.id, question=question, response="", **pair_fields(place.response_id)
        )
        place.stored = True
        position = branch.fork_position + pair.index
        generation = _launch(place, chat=chat, pair=pair, position=position, uncounted=True, branches=branches)
    # The chat's cached reads are stale from the append on (the count bumps
    # them only later): a reader learning of the pair must find it. Done while
    # the worker asks the model, before the response names the pair.
    bump_chat(chat.id)
    return generation


def chat_generate(*, user: User, title: str | None = None, question: str) -> tuple[Chat, Generation]:
    """create-chat with a question alone: the chat, its first pair generated."""
    ensure_enabled()
    chat_id, root_id = uuid.uuid4(), uuid.uuid4()
    with _admitted(user=user, chat_id=chat_id, branch_id=root_id, uncounted=False) as place:
        chat, pair = chat_services.chat_create(
            user=user,
            title=title,
            question=question,
            chat_id=chat_id,
            root_branch_id=root_id,
            generation=pair_fields(place.response_id),
        )
        place.stored = True
        return chat, _launch(place, chat=chat, pair=pair, position=0, uncounted=False)


def branch_generate(
    *,
    user: User,
    chat_id: uuid.UUID,
    response_id: uuid.UUID | None,
    question: str,
    name: str | None = None,
    activate: bool = True,
) -> tuple[Branch, Generation]:
    """create-branch with a question alone (an edited question): the branch,
    its first pair answered by the model."""
    ensure_enabled()
    chat = chat_get(user=user, chat_id=chat_id)
    ensure_writable(chat)  # before taking a place
    branch_id = uuid.uuid4()
    with _admitted(user=user, chat_id=chat.id, branch_id=branch_id, uncounted=False) as place:
        branch, pair = branch_services.branch_create(
            user=user,
            chat_id=chat.id,
            response_id=response_id,
            name=name,
            question=question,
            activate=activate,
            branch_id=branch_id,
            generation=pair_fields(place.response_id),
        )
        place.stored = True
        return branch, _launch(place, chat=chat, pair=pair, position=branch.fork_position, uncounted=False)


def pair_regenerate(
    *, user: User, chat_id: uuid.UUID, response_id: uuid.UUID, activate: bool = True
) -> tuple[Branch, Generation]:
    """Answer a pair's question again, on a new branch forked right before
    that pair (`regeneration_fork`); the old answer stays where it was."""
    chat, pair, fork = regeneration_fork(user=user, chat_id=chat_id, response_id=response_id)
    return branch_generate(user=user, chat_id=chat.id, response_id=fork, question=pair.question, activate=activate)


def generation_stop(*, user: User, chat_id: uuid.UUID, response_id: uuid.UUID) -> tuple[StoredPair, int]:
    """stop-generation: the pair as stored once stopped, with its position."""
    chat = chat_get(user=user, chat_id=chat_id)
    ensure_writable(chat)
    pair, position = pair_get(user=user, chat_id=chat.id, response_id=response_id)
    final = stopping.stop(chat_id=chat.id, pair=pair)
    if final is None:
        raise NotFound("No pair with this response_id in this chat.")
    return final, position


def generation_attach(
    *, user: User, chat_id: uuid.UUID, response_id: uuid.UUID, after: int | None
) -> Iterator[events.Event | None]:
    """stream-message: the events of a pair's generation, whichever process
    runs it, from the character `after` on (None: from `pair`)."""
    pair, position = pair_get(user=user, chat_id=chat_id, response_id=response_id)
    return readers.attach(chat_id=chat_id, pair=pair, position=position, after=after)
