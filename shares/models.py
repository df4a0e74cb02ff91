"""Share links: a read-only view of one branch's path up to one pair.

Pairs are never edited (editing opens a branch), and a branch's path up to a
pair never changes, so a share refers to the path (the branch and how many
pairs of it) instead of copying it: creating one costs the same whatever the
chat's length, and nothing written later (a later pair, another branch)
can leak into it. It goes with its chat or branch.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from chats.models import Branch, Chat


class ShareQuerySet(models.QuerySet):
    def live(self):
        """Shares whose link works, as far as the share itself says (its
        chat may still be hidden)."""
        return self.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()), disabled=False)


class Share(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # URL-safe, 256 bits from `secrets`: the link is the only key.
    token = models.CharField(max_length=64, unique=True, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shares")
    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="shares")
    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="+", help_text="The branch whose path is shared.")
    response_id = models.UUIDField(help_text="The last pair shown.")
    pair_count = models.PositiveIntegerField(help_text="How many pairs of the path are shown (the last one's position + 1).")
    # The chat's title when shared: a later rename does not reach the link.
    title = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    disabled = models.BooleanField(default=False, help_text="Set by a moderator: the link answers 404.")

    objects = ShareQuerySet.as_manager()

    class Meta:
        db_table = "shares"
        indexes = [models.Index(fields=["owner", "-created_at", "-id"], name="shares_owner_newest")]

    def __str__(self):
        return f"share of {self.chat_id} ({self.pair_count} pairs)"
