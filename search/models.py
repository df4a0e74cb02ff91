"""The full-text index of every finished pair, in PostgreSQL.

Derived from the content store, which stays the record: an entry holds what
search needs to find a pair and show it (its texts for the snippets, its
place), and is written by the services that write content (`search.index`),
checked by `reconcile_content` and rebuilt by `rebuild_search_index`. A pair
is indexed once, under the branch that holds it, however many branches
inherit it. Entries go with their branch or chat (ON DELETE CASCADE).
"""

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models

from chats.models import Branch, Chat


class SearchEntry(models.Model):
    # The chat's owner, kept here so that the index is searched per user
    # (a GIN index on (owner, vector)) without reading other users' matches.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="+")
    branch = models.ForeignKey(Branch, on_delete=models.CASCADE, related_name="+", help_text="The branch that holds the pair.")
    response_id = models.UUIDField()
    index = models.PositiveIntegerField(help_text="The pair's place among its branch's own pairs.")
    question = models.TextField()
    response = models.TextField()
    timestamp = models.DateTimeField()
    status = models.CharField(max_length=16)
    # Weighted: words of the question (A) rank above those of the response (B).
    vector = SearchVectorField(null=True)

    class Meta:
        db_table = "search_entries"
        constraints = [models.UniqueConstraint(fields=["chat", "response_id"], name="search_entry_once_per_pair")]
        verbose_name_plural = "search entries"

    def __str__(self):
        return f"{self.response_id} in {self.branch_id}"
