"""What `reconcile_content` finds of the search index (registered with
`branches.reconcile` when the app is ready): entries missing for finished
pairs, entries that disagree with their pair, entries whose pair is gone.
Each repair writes that one entry again from the content, or removes it."""

from branches.reconcile import Problem, register_check
from chats.models import Chat

from . import index
from .models import SearchEntry

KINDS = {
    "search_entry_missing": "a finished pair missing from the search index",
    "search_entry_stale": "a search index entry that disagrees with its pair",
    "search_entry_orphan": "a search index entry whose pair is gone",
}


def check(*, chat_id: str, branches: dict, outlines: dict, grace: int) -> tuple[list[Problem], dict[str, int]]:
    if not index.enabled():
        return [], {}
    owner_id = Chat.objects.filter(pk=chat_id).values_list("owner_id", flat=True).first()
    problems = []
    missing, stale, orphans = index.compare(
        chat_id=chat_id,
        branch_ids=set(branches),
        entries=SearchEntry.objects.filter(chat_id=chat_id),
        grace=grace,
    )
    for pair in missing:
        problems.append(
            Problem(
                "search_entry_missing",
                chat_id,
                f"pair {pair.response_id} of branch {pair.branch_id} is not in the search index",
                lambda p=pair: index.index_pairs(owner_id=owner_id, chat_id=chat_id, pairs=[p]),
            )
        )
    for pair, what in stale:
        problems.append(
            Problem(
                "search_entry_stale",
                chat_id,
                f"the search index's entry of pair {pair.response_id} differs in {what}",
                lambda p=pair: index.index_pairs(owner_id=owner_id, chat_id=chat_id, pairs=[p]),
            )
        )
    for entry in orphans:
        problems.append(
            Problem(
                "search_entry_orphan",
                chat_id,
                f"the search index holds pair {entry.response_id}, which is not a finished pair of this chat",
                lambda e=entry: SearchEntry.objects.filter(pk=e.pk).delete(),
            )
        )
    return problems, {}


register_check(check, kinds=KINDS)

