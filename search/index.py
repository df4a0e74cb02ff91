"""Writing the search index: called by the services that write content, in
the same order as the rest of PostgreSQL (after the content store).

Only finished pairs are indexed (complete or interrupted): a generating pair
enters when its generation ends, a failed one never. An entry is written
again whole (an upsert on the chat and response id), so indexing twice is
harmless. Deletions need no call: an entry goes with its branch or chat.

Off PostgreSQL (the suite's SQLite fallback) nothing is indexed and search
answers 503: SQLite has no full-text search of this kind.
"""

import datetime
import logging
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection
from django.utils import timezone

from chats import content_repository
from chats.content_repository import COMPLETE, INTERRUPTED, StoredPair
from chats.models import Chat

from .models import SearchEntry

logger = logging.getLogger(__name__)

SEARCHABLE = (COMPLETE, INTERRUPTED)


def enabled() -> bool:
    return connection.vendor == "postgresql"


def searchable(pair: StoredPair) -> bool:
    return pair.status in SEARCHABLE


# One statement whatever the number of pairs: their fields as arrays, the
# vectors computed by PostgreSQL as it inserts (an import of 10,000 pairs
# through Django's bulk_create with an expression per row took 4 s, this 0.5).
# `{guard}`: nothing, or a condition on a CTE of the statement it joins.
_ENTRIES = f"""
INSERT INTO {SearchEntry._meta.db_table}
    (owner_id, chat_id, branch_id, response_id, "index", question, response, "timestamp", status, vector)
SELECT %(owner)s, %(chat)s, e.branch_id, e.response_id, e.position, e.question, e.response, e.moment, e.status,
       setweight(to_tsvector(%(config)s::regconfig, e.question), 'A')
       || setweight(to_tsvector(%(config)s::regconfig, e.response), 'B')
FROM unnest(%(branches)s::uuid[], %(responses)s::uuid[], %(positions)s::int[], %(questions)s::text[],
            %(answers)s::text[], %(moments)s::timestamptz[], %(statuses)s::text[])
    AS e(branch_id, response_id, position, question, response, moment, status)
{{guard}}
ON CONFLICT (chat_id, response_id) DO UPDATE SET
    branch_id = EXCLUDED.branch_id, "index" = EXCLUDED."index", question = EXCLUDED.question,
    response = EXCLUDED.response, "timestamp" = EXCLUDED."timestamp", status = EXCLUDED.status,
    vector = EXCLUDED.vector
"""
_UPSERT = _ENTRIES.format(guard="")


def _arguments(*, owner_id, chat_id, pairs: list[StoredPair]) -> dict:
    return {
        "owner": owner_id,
        "chat": chat_id,
        "config": settings.SEARCH_CONFIG,
        "branches": [uuid.UUID(str(pair.branch_id)) for pair in pairs],
        "responses": [uuid.UUID(str(pair.response_id)) for pair in pairs],
        "positions": [pair.index for pair in pairs],
        "questions": [pair.question for pair in pairs],
        "answers": [pair.response for pair in pairs],
        "moments": [pair.timestamp for pair in pairs],
        "statuses": [pair.status for pair in pairs],
    }


def entries_statement(*, owner_id, chat_id, pairs: Iterable[StoredPair], after: str) -> tuple[str, dict] | None:
    """The upsert of these pairs' entries (those finished) as a data-modifying
    statement for the WITH of another, and its arguments (named): written only
    if the CTE `after` returned a row. None when nothing is to be indexed.

    An append counts its pair and indexes it in one statement: one round trip
    and one commit fewer than two (about 0.4 ms of 3.4 here)."""
    if not enabled():
        return None
    pairs = [pair for pair in pairs if searchable(pair)]
    if not pairs:
        return None
    return _ENTRIES.format(guard=f"WHERE EXISTS (SELECT 1 FROM {after})"), _arguments(
        owner_id=owner_id, chat_id=chat_id, pairs=pairs
    )


def index_pairs(*, owner_id, chat_id, pairs: Iterable[StoredPair]) -> int:
    """Index these pairs of one chat (those finished); returns how many.

    In one statement. Outside a transaction the index never fails the write
    it follows, which has already reached both stores: a pair whose branch
    was deleted meanwhile is simply not indexed, and one that PostgreSQL
    failed to index is logged for `reconcile_content` to add. Inside one (a
    service creating the chat or branch with it), errors are the caller's."""
    if not enabled():
        return 0
    pairs = [pair for pair in pairs if searchable(pair)]
    if not pairs:
        return 0
    try:
        with connection.cursor() as cursor:
            cursor.execute(_UPSERT, _arguments(owner_id=owner_id, chat_id=chat_id, pairs=pairs))
    except IntegrityError:
        if connection.in_atomic_block:
            raise
        logger.info("pairs of chat %s not indexed: their branch is gone", chat_id)
        return 0
    except DatabaseError:
        if connection.in_atomic_block:
            raise
        logger.warning("pairs of chat %s not indexed; reconcile_content will add them", chat_id, exc_info=True)
        return 0
    return len(pairs)


def index_pair(*, chat_id, pair: StoredPair, owner_id=None) -> int:
    """Index one pair if it is finished (`owner_id` read when not given)."""
    if not enabled() or not searchable(pair):
        return 0
    if owner_id is None:
        try:
            owner_id = Chat.objects.filter(pk=chat_id).values_list("owner_id", flat=True).first()
        except DatabaseError:
            if connection.in_atomic_block:
                raise
            logger.warning("pair %s not indexed; reconcile_content will add it", pair.response_id, exc_info=True)
            return 0
        if owner_id is None:
            return 0  # the chat is gone
    return index_pairs(owner_id=owner_id, chat_id=chat_id, pairs=[pair])


def replace_chat_entries(*, chat: Chat, pairs: Iterable[StoredPair]) -> int:
    """The chat's entries, exactly these pairs (rebuild): each written again
    in place (entries keep their ids, so a search paging meanwhile goes on),
    the others removed. Call inside a transaction holding the chat's row."""
    pairs = [pair for pair in pairs if searchable(pair)]
    count = index_pairs(owner_id=chat.owner_id, chat_id=chat.id, pairs=pairs)
    SearchEntry.objects.filter(chat=chat).exclude(response_id__in=[pair.response_id for pair in pairs]).delete()
    return count


def compare(*, chat_id, branch_ids: set[str], entries, grace: int = 0, content=None):
    """The chat's entries against its content: (pairs without an entry,
    [(pair, what differs)] for entries that disagree, entries whose pair is
    not a finished pair of a live branch). Pairs written or finished within
    `grace` seconds are left out of the first: their entry may be on its way.
    `content`: the chat's pairs as `content_repository.read_chat` gives them,
    when the caller has read them already."""
    since = timezone.now() - datetime.timedelta(seconds=grace)
    expected = {
        pair.response_id: pair
        for branch_id, pairs in (content if content is not None else content_repository.read_chat(chat_id=chat_id)).items()
        if branch_id in branch_ids
        for pair in pairs
        if searchable(pair)
    }
    existing = {str(entry.response_id): entry for entry in entries}
    missing = [
        pair for response_id, pair in expected.items()
        if response_id not in existing and max(pair.timestamp, pair.saved_at or pair.timestamp) <= since
    ]
    stale = []
    for response_id, entry in existing.items():
        pair = expected.get(response_id)
        if pair is not None:
            differs = [field for field in COMPARED if _stored_value(pair, field) != _entry_value(entry, field)]
            if differs:
                stale.append((pair, ", ".join(differs)))
    orphans = [entry for response_id, entry in existing.items() if response_id not in expected]
    return missing, stale, orphans


COMPARED = ("branch_id", "index", "question", "response", "timestamp", "status")


def _stored_value(pair, field):
    return str(pair.branch_id) if field == "branch_id" else getattr(pair, field)


def _entry_value(entry, field):
    return str(entry.branch_id) if field == "branch_id" else getattr(entry, field)
