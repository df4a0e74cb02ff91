"""The generations running in the deployment (PostgreSQL)."""

from django.conf import settings
from django.db import models


class Run(models.Model):
    """A generation running somewhere in the deployment, from before its
    pair is stored until the pair is stored as it ended.

    Its row is at once the branch's claim (one generation per branch:
    `branch_id` is unique), its place in the deployment's capacity (rows are
    counted against LLM_CONCURRENCY and, per user, LLM_USER_CONCURRENCY), its
    proof of life (`heartbeat_at`, moved every few seconds by the process
    that runs it, whatever the model does) and the stop asked of it from any
    process (`stop_requested`).

    Chat and branch are plain ids, not foreign keys: a run is admitted before
    the chat or branch of create-chat and create-branch exists, and a run
    whose branch is deleted meanwhile ends on its own (its count finds the
    branch gone)."""

    response_id = models.UUIDField(primary_key=True)
    chat_id = models.UUIDField()
    branch_id = models.UUIDField(unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # The pair is stored but not yet in its branch's `message_count`:
    # add-message counts it at its first save of the text, and whoever releases
    # the run counts it if that never happened, so it is counted exactly once.
    uncounted = models.BooleanField(default=False)
    stop_requested = models.BooleanField(default=False)
    # Which process runs it (host:pid), for operators.
    runner = models.CharField(max_length=200)
    started_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField()

    class Meta:
        db_table = "generation_runs"
        indexes = [
            models.Index(fields=["heartbeat_at"], name="generation_runs_heartbeat"),
            models.Index(fields=["user", "heartbeat_at"], name="generation_runs_user"),
        ]

    def __str__(self):
        return f"generation of {self.response_id} on {self.runner}"
