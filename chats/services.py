"""Writes to chats and their content: the one path shared by the API, the
admin and the management commands.

PostgreSQL and MongoDB cannot be written atomically together, so every write
is ordered: MongoDB first where its failure must leave PostgreSQL unchanged
(the client gets 503 and nothing changed), and anything a crash between the
two can leave behind is what `reconcile_content` finds and repairs.
"""

import dataclasses
import datetime
import logging
import uuid

from django.db import DatabaseError, InterfaceError, OperationalError, connection, models, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from chatproject.cache import bump_chat
from chatproject.errors import ChatLocked, ContentStoreUnavailable, NotFound
from search import index as search_index

from . import content_repository
from .content_repository import StoredPair
from .models import Branch, Chat, ChatStatus
from .selectors import branch_with_chat, chat_get, chat_summary_get

logger = logging.getLogger(__name__)

ROOT_BRANCH_NAME = "main"
DEFAULT_TITLE = "New chat"
TITLE_FROM_QUESTION_CHARS = 60


def ensure_writable(chat: Chat) -> None:
    if chat.locked:
        raise ChatLocked()


def default_title(question: str | None) -> str:
    title = (question or "").strip()[:TITLE_FROM_QUESTION_CHARS].strip()
    return title or DEFAULT_TITLE


def chat_create(
    *,
    user: User,
    title: str | None = None,
    question: str | None = None,
    response: str | None = None,
    generation: dict | None = None,
    chat_id: uuid.UUID | None = None,
    root_branch_id: uuid.UUID | None = None,
) -> tuple[Chat, StoredPair | None]:
    """Create a chat with its root branch and, optionally, its first pair.

    All or nothing from the client's view: the pair is written first, so a
    MongoDB failure leaves no chat; a PostgreSQL failure after it removes the
    pair again (or leaves content without a chat for reconcile_content).
    With `generation` (the fields of a pair to be generated, as
    `content_repository.append_pair` takes them), the first pair is stored
    `generating`; `chat_id` and `root_branch_id` are for a caller that had to
    name them first (a generation is admitted before anything is stored).
    Returns (chat, first pair or None).
    """
    chat_id, root_id = chat_id or uuid.uuid4(), root_branch_id or uuid.uuid4()
    first = None
    if question is not None:
        first = content_repository.append_pair(
            chat_id=chat_id, branch_id=root_id, question=question, response=response or "", **(generation or {})
        )
    try:
        with transaction.atomic():
            chat = Chat.objects.create(
                id=chat_id, owner=user, title=title or default_title(question), active_branch_id=root_id
            )
            Branch.objects.create(
                id=root_id,
                chat=chat,
                name=ROOT_BRANCH_NAME,
                message_count=1 if first else 0,
            )
            if first is not None:
                search_index.index_pair(chat_id=chat.id, pair=first, owner_id=user.pk)
    except Exception:
        if first is not None:
            _remove_orphan_content(chat_id)
        raise
    return chat, first


def chat_content_discard(*, chat_id: uuid.UUID) -> None:
    """Remove the content of a chat that does not exist (any more)."""
    content_repository.delete_chat_content(chat_id=chat_id)
    bump_chat(chat_id)


def _remove_orphan_content(chat_id: uuid.UUID) -> None:
    try:
        content_repository.delete_chat_content(chat_id=chat_id)
    except ContentStoreUnavailable:
        logger.error("Content of chat %s left without its chat; reconcile_content will remove it.", chat_id)


def chat_update(*, user: User, chat_id: uuid.UUID, title: str) -> Chat:
    """Retitle a chat; returns it with its summary (branch count, root)."""
    with transaction.atomic():
        chat = chat_get(user=user, chat_id=chat_id, for_update=True)
        ensure_writable(chat)
        chat.title = title
        chat.full_clean(exclude=["owner", "active_branch"])
        chat.save(update_fields=["title", "updated_at"])
        summary = chat_summary_get(chat_id=chat.pk)
    bump_chat(chat.id)
    return summary


class Moderation(models.TextChoices):
    """What a moderator can do to a chat. Locking and hiding are independent:
    a locked chat that is hidden and then restored is still locked, and
    locking or unlocking a hidden chat leaves it hidden."""

    LOCK = "lock", "locked"
    UNLOCK = "unlock", "unlocked"
    HIDE = "hide", "hidden"
    RESTORE = "restore", "restored"


# Each action sets one flag; it applies only to chats whose flag it changes,
# and says why it did not otherwise.
_MODERATION_RULES = {
    Moderation.LOCK: ("locked", True, "already locked"),
    Moderation.UNLOCK: ("locked", False, "not locked"),
    Moderation.HIDE: ("hidden", True, "already hidden"),
    Moderation.RESTORE: ("hidden", False, "not hidden"),
}


@dataclasses.dataclass(frozen=True)
class ModerationResult:
    chat: Chat
    action: Moderation
    changed: bool
    status_before: str
    status_after: str
    # Why nothing changed (None when something did), e.g. "already locked".
    reason: str | None = None

    def describe(self):
        """For the admin history: what changed, from what to what."""
        flag, value, _ = _MODERATION_RULES[self.action]
        return (
            f"{self.action.label.capitalize()} the chat: {flag} {not value} → {value}; "
            f"status “{self.status_before}” → “{self.status_after}”."
        )


def chat_moderate(*, chat_id, action):
    """The one write path of moderation, for the admin's actions and form and
    for the commands: apply `action` (a Moderation) to a chat, under its row
    lock, and invalidate its cached reads. The chat's activity (`updated_at`)
    does not move: restoring brings a chat back unchanged. Raises
    Chat.DoesNotExist when the chat is gone."""
    action = Moderation(action)
    flag, value, reason = _MODERATION_RULES[action]
    with transaction.atomic():
        chat = Chat.objects.select_for_update().get(pk=chat_id)
        before = chat.status
        if getattr(chat, flag) == value:
            return ModerationResult(chat, action, False, before, before, reason)
        Chat.objects.filter(pk=chat.pk).update(**{flag: value})
        chat.refresh_from_db()
    bump_chat(chat.id)
    return ModerationResult(chat, action, True, before, chat.status)


def chat_moderation_preview(*, chat_id, action):
    """What `chat_moderate` would do, without doing it (for --dry-run)."""
    action = Moderation(action)
    flag, value, reason = _MODERATION_RULES[action]
    chat = Chat.objects.get(pk=chat_id)
    before = chat.status
    if getattr(chat, flag) == value:
        return ModerationResult(chat, action, False, before, before, reason)
    flags = {"locked": chat.locked, "hidden": chat.hidden, flag: value}
    after = ChatStatus.HIDDEN if flags["hidden"] else ChatStatus.LOCKED if flags["locked"] else ChatStatus.ACTIVE
    return ModerationResult(chat, action, True, before, after.value)


def chat_rename(*, chat: Chat, title: str) -> Chat:
    """Retitle a chat as a moderator: no owner, no lock in the way."""
    chat.title = title
    chat.full_clean(exclude=["owner", "active_branch"])
    chat.save(update_fields=["title", "updated_at"])
    bump_chat(chat.id)
    return chat


def chat_times_restore(
    *,
    chat_id: uuid.UUID,
    created_at: datetime.datetime,
    updated_at: datetime.datetime,
    branches_created_at: dict[uuid.UUID, datetime.datetime],
) -> None:
    """Give an imported chat and its branches the times of their export
    (`branches_created_at`: branch id -> creation time)."""
    with transaction.atomic():
        for branch_id, moment in branches_created_at.items():
            Branch.objects.filter(chat_id=chat_id, pk=branch_id).update(created_at=moment)
        # update() leaves auto_now alone, so updated_at keeps the value given.
        Chat.objects.filter(pk=chat_id).update(created_at=created_at, updated_at=updated_at)
    bump_chat(chat_id)


def chat_delete(*, chat: Chat) -> None:
    """Delete a chat, its branches and all their content (also when locked).

    Under the chat's row lock, like every write, so no branch is created or
    pair counted meanwhile. Content goes first: if MongoDB fails, the
    transaction rolls back and the chat is still whole (503). A chat deleted
    meanwhile (two deletes at once) is NotFound.
    """
    chat_id = chat.id  # delete() clears the instance's pk
    with transaction.atomic():
        chat = Chat.objects.select_for_update().filter(pk=chat_id).first()
        if chat is None:
            raise NotFound("Chat not found.")
        content_repository.delete_chat_content(chat_id=chat_id)
        chat.delete()
    bump_chat(chat_id)


def message_add(
    *,
    user: User,
    chat_id: uuid.UUID,
    branch_id: uuid.UUID | None = None,
    question: str,
    response: str,
    timestamp: datetime.datetime | None = None,
    generation: dict | None = None,
) -> tuple[StoredPair, int]:
    """Append a pair to a branch (the active one by default). `timestamp` is
    for imports that keep the original time; the API never passes it.
    `generation` (as `content_repository.append_pair` takes it) stores it to
    be generated.

    Returns (pair, its position in the branch's path).
    """
    branch = branch_with_chat(user=user, chat_id=chat_id, branch_id=branch_id)
    chat = branch.chat
    ensure_writable(chat)
    pair = content_repository.append_pair(
        chat_id=chat.id,
        branch_id=branch.id,
        question=question,
        response=response,
        timestamp=timestamp,
        **(generation or {}),
    )
    if not record_own_pairs_added(
        chat_id=chat.id, branch_id=branch.id, count=1, owner_id=chat.owner_id, indexed=[pair]
    ):
        # The branch (or the chat) was deleted while the pair was being written.
        discard_lost_branch(chat_id=chat.id, branch_id=branch.id)
    return pair, branch.fork_position + pair.index


def discard_lost_branch(*, chat_id: uuid.UUID, branch_id: uuid.UUID):
    """A pair was written to a branch deleted meanwhile: its content goes the
    same way, and the client learns the branch is gone."""
    try:
        content_repository.delete_branch_content(chat_id=chat_id, branch_ids=[branch_id])
    except ContentStoreUnavailable:
        logger.warning("content of deleted branch %s left for reconcile_content", branch_id)
    raise NotFound("Branch not found in this chat.")


def record_own_pairs_added(
    *, chat_id: uuid.UUID, branch_id: uuid.UUID, count: int, owner_id=None, indexed: list[StoredPair] = ()
) -> bool:
    """After pairs reached MongoDB: count them and move the chat's activity,
    and index `indexed` (pairs of the owner `owner_id`) for search. Returns
    False when the branch no longer exists (nothing is indexed then).

    One statement on PostgreSQL (atomic by itself, no transaction around
    it): the chat's row is updated in a WITH that the branch's update joins,
    so the chat row is locked first, then the branch's — the lock order of
    every write, so that concurrent writes to one chat cannot deadlock — and
    the search entries are written in the same statement. Should indexing
    fail, the pairs are counted alone and the index left to
    `reconcile_content`, as when it fails on its own: a search entry never
    fails the write. SQLite, which has no UPDATE inside WITH, takes two
    statements in a transaction (and has no search index)."""
    now = timezone.now()
    if connection.vendor == "postgresql":
        arguments = {"now": now, "chat": uuid.UUID(str(chat_id)), "count": count, "branch": uuid.UUID(str(branch_id))}
        entries = search_index.entries_statement(owner_id=owner_id, chat_id=chat_id, pairs=indexed, after="counted")
        try:
            counted = _count_pairs(
                _COUNT_PAIRS.format(index=f", indexed AS ({entries[0]})" if entries else ""),
                {**arguments, **(entries[1] if entries else {})},
            )
        except DatabaseError as exc:
            # Only what the entries can cause (a statement PostgreSQL refuses):
            # a lost connection, a deadlock or a timeout is the count's failure.
            if entries is None or connection.in_atomic_block or isinstance(exc, OperationalError | InterfaceError):
                raise
            logger.warning("search entries of chat %s refused; the pairs are counted without them", chat_id, exc_info=True)
            counted = _count_pairs(_COUNT_PAIRS.format(index=""), arguments)
            if counted:
                search_index.index_pairs(owner_id=owner_id, chat_id=chat_id, pairs=indexed)
    else:
        with transaction.atomic():
            Chat.objects.filter(pk=chat_id).update(updated_at=now)
            counted = Branch.objects.filter(pk=branch_id).update(message_count=F("message_count") + count)
    bump_chat(chat_id)
    return counted == 1


def _count_pairs(sql, arguments) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, arguments)
        return cursor.fetchone()[0]


# `{index}`: the search entries' upsert as a CTE of its own, or nothing.
_COUNT_PAIRS = f"""
WITH touched AS (
    UPDATE {Chat._meta.db_table} SET updated_at = %(now)s WHERE id = %(chat)s RETURNING id
), counted AS (
    UPDATE {Branch._meta.db_table} SET message_count = message_count + %(count)s
    WHERE id = %(branch)s AND chat_id IN (SELECT id FROM touched) RETURNING id
){{index}}
SELECT count(*) FROM counted
"""
