"""What `reconcile_content` finds of generations (registered with
`branches.reconcile` when the app is ready): pairs left generating by a
process that died, runs left behind by a generation that ended, and which
stored pairs are not counted yet (an add-message pair before its first
text)."""

from branches.reconcile import Problem
from chats.content_repository import GENERATING

from . import claims, liveness
from .models import Run

KINDS = {
    "dead_generation": "a pair left generating by a generation whose process died",
    "stale_generation_claim": "a branch claimed by a generation that is not running",
}


def check(*, chat_id: str, branches: dict, outlines: dict, grace: int) -> tuple[list[Problem], dict[str, int]]:
    runs = {str(run.response_id): run for run in Run.objects.filter(chat_id=chat_id)}
    stored = {
        pair["response_id"]: (branch_id, pair)
        for branch_id, buckets in outlines.items()
        for bucket in buckets
        for pair in bucket["qa_pairs"]
    }
    problems, uncounted = [], {}
    for response_id, run in runs.items():
        if run.uncounted and response_id in stored and stored[response_id][0] == str(run.branch_id):
            uncounted[str(run.branch_id)] = uncounted.get(str(run.branch_id), 0) + 1
    for response_id, (branch_id, pair) in sorted(stored.items()):
        if pair.get("status") != GENERATING:
            continue
        run = runs.get(response_id)
        if run is None or claims.is_dead(run.heartbeat_at):
            problems.append(
                Problem(
                    "dead_generation",
                    chat_id,
                    f"pair {response_id} of branch {branch_id} has been generating since {pair.get('saved_at')}, "
                    "and its process is gone; it becomes interrupted",
                    lambda r=response_id: liveness.recover(chat_id=chat_id, response_id=r),
                )
            )
    for response_id, run in sorted(runs.items()):
        ended = response_id in stored and stored[response_id][1].get("status") != GENERATING
        never_stored = response_id not in stored and claims.is_dead(run.heartbeat_at)
        if ended or never_stored:
            problems.append(
                Problem(
                    "stale_generation_claim",
                    chat_id,
                    f"branch {run.branch_id} is claimed by pair {response_id}, which is not generating",
                    lambda r=response_id: liveness.release_ended(chat_id=chat_id, response_id=r),
                )
            )
    return problems, uncounted
