"""Find and repair what PostgreSQL and MongoDB disagree on.

The services order their writes so that a crash between the two stores leaves
only the kinds of damage listed in `KINDS`; `check_chat` finds each of them for
one chat and `orphan_chats` the content whose chat is gone. Every problem
carries its own repair, made through the services' write paths, so that the
cache is invalidated as by any write and the API serves the repaired state at
once.

Writes may be in flight while this runs. Content written less than `grace`
seconds ago is left alone (an append whose counting has not committed yet
looks like damage), and `repair_chat` checks a chat again under its row lock,
which every branch write holds, before repairing anything.

Generations in flight belong to an app above this one (`generation`): it
registers its own check (`register_check`), which finds its kinds of damage
and tells which stored pairs are not counted yet.
"""

import dataclasses
import datetime
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from chats import content_repository
from chats.models import Branch, Chat
from chats.services import chat_content_discard

from . import services

KINDS = {
    "orphan_chat_content": "content whose chat is gone",
    "orphan_branch_content": "content whose branch is gone",
    "buckets_out_of_sequence": "buckets out of sequence",
    "stale_fork_entry": "a pair's branches list names a branch that is not forked there",
    "missing_fork_entry": "a branch missing from its fork pair's branches list",
    "missing_fork_pair": "a branch whose fork pair is missing",
    "message_count_mismatch": "a branch's message_count disagrees with its content",
}
# Checks registered by the apps above this one: each is called with the
# chat's id, its branches, its bucket outlines by branch and the grace period
# (seconds), and returns
# (problems, {branch id: its stored pairs not counted yet}).
_checks: list[Callable] = []


def register_check(check: Callable, *, kinds: dict[str, str]) -> None:
    KINDS.update(kinds)
    _checks.append(check)


@dataclasses.dataclass
class Problem:
    kind: str
    chat_id: str
    detail: str
    repair: Callable[[], None]

    def __str__(self):
        return f"[{self.kind}] chat {self.chat_id}: {self.detail}"


def orphan_chats(*, grace: int) -> list[Problem]:
    """Problems for content whose chat no longer exists (and is not being
    created right now)."""
    content_ids = content_repository.content_chat_ids()
    known = {str(pk) for pk in Chat.objects.filter(pk__in=content_ids).values_list("pk", flat=True)}
    return [
        Problem(
            "orphan_chat_content",
            chat_id,
            "content without a chat",
            lambda chat_id=chat_id: _remove_orphan_chat(chat_id, grace),
        )
        for chat_id in sorted(content_ids - known)
        if not _recent(content_repository.bucket_outlines(chat_id=chat_id), grace)
    ]


def _remove_orphan_chat(chat_id, grace):
    if not Chat.objects.filter(pk=chat_id).exists():
        if not _recent(content_repository.bucket_outlines(chat_id=chat_id), grace):
            chat_content_discard(chat_id=chat_id)


def _recent(buckets, grace):
    """Whether any pair in these buckets was written within `grace` seconds
    (an imported bucket says when it was written: its pairs keep old times)."""
    since = timezone.now() - datetime.timedelta(seconds=grace)
    return any(
        b.get("written_at", since) > since or any(p["timestamp"] > since for p in b["qa_pairs"]) for b in buckets
    )


def repair_chat(*, chat_id: str, grace: int) -> int:
    """Check one chat again under its row lock and repair what is still wrong.
    Returns how many problems were repaired."""
    with transaction.atomic():
        chat = Chat.objects.select_for_update().filter(pk=chat_id).first()
        if chat is None:
            return 0
        problems = check_chat(chat=chat, grace=grace)
        for problem in problems:
            problem.repair()
    return len(problems)


def check_chat(*, chat: Chat, grace: int) -> list[Problem]:
    """Every disagreement between the stores for one chat, but in branches
    written within `grace` seconds. Problems that make others meaningless
    (orphan content, bad buckets, lost fork pairs) come first."""
    branches = {str(b.id): b for b in Branch.objects.filter(chat=chat)}
    outlines = content_repository.bucket_outlines(chat_id=chat.id)
    by_branch = {}
    for bucket in outlines:
        by_branch.setdefault(bucket["branch_id"], []).append(bucket)
    # Branches appended to within the grace period: their counters and
    # buckets may be mid-write, so they are checked on a later run.
    busy = {branch_id for branch_id, buckets in by_branch.items() if _recent(buckets, grace)}
    chat_id = str(chat.id)
    problems = []

    for branch_id in sorted(set(by_branch) - set(branches) - busy):
        problems.append(
            Problem(
                "orphan_branch_content",
                chat_id,
                f"content of branch {branch_id}, which does not exist",
                lambda b=branch_id: services.branch_content_discard(chat_id=chat_id, branch_id=b),
            )
        )

    pairs_of = {}  # branch id -> [(response_id, fork list)] in order
    for branch_id, buckets in by_branch.items():
        if branch_id not in branches:
            continue
        if branch_id not in busy and not _in_sequence(buckets):
            problems.append(
                Problem(
                    "buckets_out_of_sequence",
                    chat_id,
                    f"branch {branch_id}: bucket numbers or counters do not follow the pairs",
                    lambda b=branch_id: services.branch_buckets_renumber(chat_id=chat_id, branch_id=b),
                )
            )
        pairs_of[branch_id] = [(p["response_id"], p.get("branches", [])) for b in buckets for p in b["qa_pairs"]]

    not_counted: dict[str, int] = {}
    for check in _checks:
        found, uncounted = check(chat_id=chat_id, branches=branches, outlines=by_branch, grace=grace)
        problems += found
        for branch_id, count in uncounted.items():
            not_counted[branch_id] = not_counted.get(branch_id, 0) + count

    for branch_id, branch in branches.items():
        own = pairs_of.get(branch_id, [])
        uncounted = not_counted.get(branch_id, 0)
        if branch_id not in busy and branch.message_count != len(own) - uncounted:
            problems.append(
                Problem(
                    "message_count_mismatch",
                    chat_id,
                    f"branch {branch_id}: message_count {branch.message_count}, content holds {len(own)}"
                    + (f" ({uncounted} of them not counted yet)" if uncounted else ""),
                    lambda b=branch, n=len(own) - uncounted: services.branch_count_set(branch=b, count=n),
                )
            )

    for branch_id, branch in branches.items():
        if branch.parent_id is None or branch.fork_response_id is None:
            continue
        holder = str(branch.parent_id)
        fork_lists = dict(pairs_of.get(holder, []))
        response_id = str(branch.fork_response_id)
        if response_id not in fork_lists:
            problems.append(
                Problem(
                    "missing_fork_pair",
                    chat_id,
                    f"branch {branch_id} forks after pair {response_id}, which its parent does not hold; "
                    "the branch and its subtree are removed",
                    lambda b=branch: Branch.objects.filter(pk=b.pk).exists() and services.branch_prune(branch=b),
                )
            )
        elif branch_id not in fork_lists[response_id]:
            problems.append(
                Problem(
                    "missing_fork_entry",
                    chat_id,
                    f"pair {response_id} does not list branch {branch_id}",
                    lambda h=holder, r=response_id, b=branch_id: services.fork_entry_add(
                        chat_id=chat_id, holder_branch_id=h, response_id=r, branch_id=b
                    ),
                )
            )

    for holder, pairs in pairs_of.items():
        for response_id, listed in pairs:
            for named in listed:
                child = branches.get(named)
                if child is None or str(child.parent_id) != holder or str(child.fork_response_id) != response_id:
                    problems.append(
                        Problem(
                            "stale_fork_entry",
                            chat_id,
                            f"pair {response_id} lists branch {named}, which does not fork there",
                            lambda h=holder, r=response_id, n=named: services.fork_entry_remove(
                                chat_id=chat_id, holder_branch_id=h, response_id=r, branch_id=n
                            ),
                        )
                    )
    return problems


def _in_sequence(buckets):
    start = 0
    for seq, bucket in enumerate(buckets):
        held = len(bucket["qa_pairs"])
        # Only the last bucket may be open (it may also be closed: a crash
        # between closing it and inserting the next leaves it so, harmlessly).
        if (bucket["seq"], bucket["start"], bucket["count"], bucket.get("end")) != (seq, start, held, start + held):
            return False
        if bucket.get("response_ids") != [p["response_id"] for p in bucket["qa_pairs"]]:
            return False
        if seq < len(buckets) - 1 and not bucket["closed"]:
            return False
        start += held
    return True
