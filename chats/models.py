"""Chats and their branches (PostgreSQL).

`Branch` lives here rather than in `branches`: a chat points at its active
branch and a branch at its chat, so the two models reference each other and
must share an app for the dependency to stay one-way (accounts <- chats <-
branches). The `branches` app holds the branch routes and services.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Case, Q, Value, When


class ChatStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    LOCKED = "locked", "Locked"
    HIDDEN = "hidden", "Hidden"


class Chat(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chats")
    title = models.CharField(max_length=settings.MAX_TITLE_CHARS)
    # Moderation: two independent flags, changed only through the moderation
    # service (chats.services.chat_moderate). Hiding a locked chat and restoring
    # it brings it back still locked; locking a hidden chat leaves it hidden.
    locked = models.BooleanField(default=False, help_text="Read-only to its owner (409 on every write but delete).")
    hidden = models.BooleanField(default=False, help_text="Invisible to its owner (404), shown only here.")
    # What the API shows and what filters read, derived by the database from the
    # two flags so it can never disagree with them: hidden > locked > active.
    status = models.GeneratedField(
        expression=Case(
            When(hidden=True, then=Value(ChatStatus.HIDDEN.value)),
            When(locked=True, then=Value(ChatStatus.LOCKED.value)),
            default=Value(ChatStatus.ACTIVE.value),
        ),
        output_field=models.CharField(max_length=16, choices=ChatStatus.choices),
        db_persist=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Moves on every write to the chat (pairs, branches, title): list-chats order.
    updated_at = models.DateTimeField(auto_now=True)
    # Null only inside the transaction that creates the chat with its root. That
    # it names a branch of this very chat is enforced on PostgreSQL by a
    # composite foreign key (migration 0002).
    active_branch = models.ForeignKey(
        "Branch", on_delete=models.DO_NOTHING, null=True, related_name="+", db_constraint=True
    )
    # Where an imported chat came from ("<format>:<id there>"): importing the
    # same conversation again is refused while this chat exists.
    imported_from = models.CharField(max_length=300, null=True, blank=True, editable=False)

    class Meta:
        db_table = "chats"
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "imported_from"],
                condition=Q(imported_from__isnull=False),
                name="chats_imported_once_per_owner",
            ),
        ]
        indexes = [
            # list-chats: one user's chats, most recently active first (keyset).
            models.Index(fields=["owner", "-updated_at", "-id"], name="chats_owner_activity"),
        ]

    def __str__(self):
        return self.title


class Branch(models.Model):
    """One line of a chat's conversation tree: its own pairs live in MongoDB,
    the history it inherits is referenced through `parent` and `fork_position`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="branches")
    # RESTRICT: a parent cannot go while children remain, except when the whole
    # chat is deleted at once.
    parent = models.ForeignKey("self", on_delete=models.RESTRICT, null=True, blank=True, related_name="children")
    # The pair this branch forks right after (null: before the first pair).
    fork_response_id = models.UUIDField(null=True, blank=True)
    # How many pairs of history the branch inherits.
    fork_position = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=settings.MAX_TITLE_CHARS)
    # The branch's own pairs; kept by the services, repaired by reconcile_content.
    message_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "conversations"
        constraints = [
            models.UniqueConstraint(
                fields=["chat"], condition=Q(parent__isnull=True), name="conversations_one_root_per_chat"
            ),
            # Lets chats reference (chat, branch) as a pair: see Chat.active_branch.
            models.UniqueConstraint(fields=["chat", "id"], name="conversations_chat_id_unique"),
            models.CheckConstraint(
                condition=Q(parent__isnull=False) | Q(fork_position=0, fork_response_id__isnull=True),
                name="conversations_root_forks_nowhere",
            ),
            models.CheckConstraint(
                condition=~Q(parent=models.F("id")), name="conversations_not_own_parent"
            ),
        ]
        indexes = [models.Index(fields=["chat", "created_at"], name="conversations_chat_created")]
        verbose_name_plural = "branches"

    def __str__(self):
        return self.name

    @property
    def is_root(self):
        return self.parent_id is None
