"""Reads of chats and their content, always scoped to the requesting user.

Another user's chat, a hidden chat and an unknown id are the same thing here:
`NotFound`, so nothing tells a stranger that a chat exists.
"""

import dataclasses
import functools
import uuid
from collections.abc import Callable

from django.db import connection
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from accounts.models import User
from chatproject.errors import NotFound

from . import content_repository
from .content_repository import StoredPair
from .models import Branch, Chat
from .representations import chat_representation, pair_representation


def _visible_to(user: User, *, via: str = "") -> Q:
    """What makes a chat visible to `user` (`via`: the path to the chat,
    from a model that refers to it)."""
    return Q(**{f"{via}owner": user, f"{via}hidden": False})


def visible_chats(*, user: User) -> QuerySet[Chat]:
    """The chats `user` can see and change through the API: their own, but
    not those a moderator hid. Every read and write of a user's chat starts
    here (or at `chat_with_branches`, which asks the same in a join)."""
    return Chat.objects.filter(_visible_to(user))


def with_summary(chats: QuerySet[Chat]) -> QuerySet[Chat]:
    """`chats` annotated with what their representation needs (`branch_count`,
    `root_branch_id`), in the same query."""
    branch_counts = (
        Branch.objects.filter(chat=OuterRef("pk")).order_by().values("chat").annotate(n=Count("*")).values("n")
    )
    roots = Branch.objects.filter(chat=OuterRef("pk"), parent__isnull=True).values("id")[:1]
    return chats.annotate(branch_count=Coalesce(Subquery(branch_counts), 0), root_branch_id=Subquery(roots))


def chat_summary_get(*, chat_id: uuid.UUID) -> Chat:
    """A chat with its summary, as a write just left it (services answer with
    it); NotFound when it was deleted meanwhile."""
    try:
        return with_summary(Chat.objects.all()).get(pk=chat_id)
    except Chat.DoesNotExist:
        raise NotFound("Chat not found.") from None


def chat_get(*, user: User, chat_id: uuid.UUID, for_update: bool = False) -> Chat:
    """The user's chat with this id, or NotFound."""
    chats = visible_chats(user=user)
    if for_update:
        chats = chats.select_for_update()
    try:
        return chats.get(pk=chat_id)
    except Chat.DoesNotExist:
        raise NotFound("Chat not found.") from None


def chat_list(*, user: User, search: str | None = None) -> QuerySet[Chat]:
    """list-chats: the user's chats with their summaries (ordered by the pagination)."""
    chats = with_summary(visible_chats(user=user))
    if search:
        chats = chats.filter(title__icontains=search)
    return chats


def branch_get(*, chat: Chat, branch_id: uuid.UUID | None) -> Branch:
    """A branch of this chat (the active one when branch_id is None), or NotFound."""
    try:
        return Branch.objects.get(chat=chat, pk=branch_id or chat.active_branch_id)
    except Branch.DoesNotExist:
        raise NotFound("Branch not found in this chat.") from None


def pair_get(*, user: User, chat_id: uuid.UUID, response_id: uuid.UUID) -> tuple[StoredPair, int]:
    """A pair of the user's chat with its position in its own branch's path,
    or NotFound."""
    chat = chat_get(user=user, chat_id=chat_id)
    pair = content_repository.read_pair(chat_id=chat.id, response_id=response_id)
    branch = Branch.objects.filter(chat=chat, pk=pair.branch_id).first() if pair else None
    if branch is None:
        raise NotFound("No pair with this response_id in this chat.")
    return pair, branch.fork_position + pair.index


def chat_branches(*, chat: Chat) -> list[Branch]:
    """Every branch of a chat, root first, then by creation."""
    return _in_order(chat.branches.all())


def chat_with_branches(*, user: User, chat_id: uuid.UUID) -> tuple[Chat, list[Branch]]:
    """`chat_get` and `chat_branches` in one query: the routes that need both
    before anything else (get-chat, add-message) save a round trip."""
    branches = _branches_with_chat(user=user, chat_id=chat_id)
    if not branches:  # a chat always has its root branch
        raise NotFound("Chat not found.")
    return branches[0].chat, _in_order(branches)


def branch_with_chat(*, user: User, chat_id: uuid.UUID, branch_id: uuid.UUID | None) -> Branch:
    """`chat_get` and `branch_get` in one query (add-message): the branch
    (the active one when `branch_id` is None), its `chat` loaded with it.
    NotFound says which was missing, as the two reads did."""
    found = _branches_with_chat(user=user, chat_id=chat_id, branch_id=branch_id, only_one=True)
    if not found:
        # Only on the way to a 404: which of the two is it?
        chat_get(user=user, chat_id=chat_id)
        raise NotFound("Branch not found in this chat.")
    return found[0]


def _branches_with_chat(*, user, chat_id, branch_id=None, only_one=False) -> list[Branch]:
    """A visible chat's branches (or one of them: `branch_id`, or the active
    one) joined with the chat, each with `.chat` set to the one Chat."""
    if connection.vendor != "postgresql":
        which = Q()
        if only_one:
            which = Q(pk=branch_id) if branch_id is not None else Q(pk=F("chat__active_branch_id"))
        rows = list(Branch.objects.select_related("chat").filter(which, _visible_to(user, via="chat__"), chat_id=chat_id))
        for branch in rows:
            branch.chat = rows[0].chat
        return rows
    # These run on every uncached read and every append: the SQL is built
    # once, and rows become models without the ORM's per-query compiling
    # (about 0.5 ms of a 3 ms uncached get-chat here; PostgreSQL returns
    # UUIDs and aware times as the models hold them).
    sql, branch_names, chat_names = _join_sql(only_one, branch_id is not None)
    params = [uuid.UUID(str(chat_id)), user.pk] + ([uuid.UUID(str(branch_id))] if branch_id is not None else [])
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return []
    split = len(branch_names)
    chat = Chat.from_db(connection.alias, chat_names, rows[0][split:])
    branches = []
    for row in rows:
        branch = Branch.from_db(connection.alias, branch_names, row[:split])
        branch.chat = chat
        branches.append(branch)
    return branches


@functools.cache
def _join_sql(only_one: bool, by_id: bool):
    branch_fields, chat_fields = Branch._meta.concrete_fields, Chat._meta.concrete_fields
    columns = [f'b."{f.column}"' for f in branch_fields] + [f'c."{f.column}"' for f in chat_fields]
    which = ""
    if only_one:
        which = ' AND b."id" = %s' if by_id else ' AND b."id" = c."active_branch_id"'
    sql = (
        f'SELECT {", ".join(columns)} FROM "{Branch._meta.db_table}" b '
        f'JOIN "{Chat._meta.db_table}" c ON c."id" = b."chat_id" '
        f'WHERE b."chat_id" = %s AND c."owner_id" = %s AND NOT c."hidden"{which}'
    )
    return sql, [f.attname for f in branch_fields], [f.attname for f in chat_fields]


def _in_order(branches) -> list[Branch]:
    return sorted(branches, key=lambda b: (b.parent_id is not None, b.created_at, str(b.id)))


@dataclasses.dataclass(frozen=True)
class _Segment:
    """The part of a path a branch holds itself: path positions
    [path_start, path_start + own_end) (own_end None: all its pairs)."""

    branch: Branch
    own_end: int | None

    @property
    def path_start(self):
        return self.branch.fork_position


def _path_segments(branches: list[Branch], branch: Branch) -> list[_Segment]:
    by_id = {b.id: b for b in branches}
    chain = [branch]
    while chain[-1].parent_id is not None and len(chain) <= len(branches):
        chain.append(by_id[chain[-1].parent_id])
    chain.reverse()
    return [
        _Segment(b, chain[i + 1].fork_position - b.fork_position if i + 1 < len(chain) else None)
        for i, b in enumerate(chain)
    ]


def path_page(
    *,
    chat_id: uuid.UUID,
    branches: list[Branch],
    branch: Branch,
    limit: int,
    before: uuid.UUID | None = None,
    before_stored: StoredPair | None = None,
) -> tuple[list[dict], bool]:
    """The latest `limit` pairs of a branch's whole path (inherited, then its
    own), or the `limit` pairs just before the pair `before` (by its id), or
    just before `before_stored` (a pair as stored, whose place is known:
    the context of a generation, which has just written it); oldest first.

    Reads only the buckets the page needs: one read per branch whose pairs are
    on the page, newest first. Returns (messages, has_more).
    """
    segments = _path_segments(branches, branch)
    last, end = len(segments) - 1, None
    if before is not None or before_stored is not None:
        found = before_stored or content_repository.locate_pair(chat_id=chat_id, response_id=before)
        on_path = [
            i for i, s in enumerate(segments)
            if found and str(s.branch.id) == found.branch_id and (s.own_end is None or found.index < s.own_end)
        ]
        if not on_path:
            raise NotFound("No pair with this response_id on this branch's path.")
        last, end = on_path[0], found.index

    pages, remaining = [], limit
    for index in range(last, -1, -1):
        segment = segments[index]
        own_end = end if index == last else segment.own_end
        pairs = content_repository.read_pairs_before(
            chat_id=chat_id, branch_id=segment.branch.id, end=own_end, limit=remaining
        )
        pages.append([pair_representation(p, position=segment.path_start + p.index) for p in pairs])
        remaining -= len(pairs)
        if remaining <= 0:
            break
    messages = [m for page in reversed(pages) for m in page]
    return messages, bool(messages) and messages[0]["position"] > 0


def path_pairs(*, chat_id, branches: list[Branch], branch: Branch, start: int, end: int) -> list[tuple[int, StoredPair]]:
    """The pairs at positions [start, end) of a branch's path, oldest first,
    with their positions: one read per branch of the path holding some."""
    found = []
    for segment in _path_segments(branches, branch):
        first = segment.path_start
        low = max(start, first)
        high = end if segment.own_end is None else min(end, first + segment.own_end)
        if low >= high:
            continue
        pairs = content_repository.read_pairs_before(
            chat_id=chat_id, branch_id=segment.branch.id, end=high - first, limit=high - low
        )
        found += [(first + pair.index, pair) for pair in pairs]
    return found


def path_position(*, chat_id, branches: list[Branch], branch: Branch, response_id) -> tuple[StoredPair, int] | None:
    """The pair with this id and its position, if it is on the branch's path."""
    pair = content_repository.read_pair(chat_id=chat_id, response_id=response_id)
    if pair is None:
        return None
    for segment in _path_segments(branches, branch):
        if str(segment.branch.id) == pair.branch_id and (segment.own_end is None or pair.index < segment.own_end):
            return pair, segment.path_start + pair.index
    return None


def fork_alternatives(branches: list[Branch]) -> Callable[[str, int], list[str]]:
    """`alternatives(holder_id, position)`: the ids of the branches that each
    show a pair of their own at `position` of a path after the same history
    as the pair that `holder_id` holds there, that branch among them, oldest
    first: what a reader switches between ("2 of 3") at a fork point.

    Found in the branch list alone, so a page costs no extra read: a branch
    forks at path position `fork_position` from its parent (null fork pair:
    position 0, from the root), and holds pairs at positions
    [fork_position, fork_position + message_count) (and one more while a
    generated pair waits for its first second of text, uncounted until then; see the
    holder below). Branches without pairs of their own show nothing at that
    position and are left out.
    """
    ids = {b.id: str(b.id) for b in branches}
    by_id = {ids[b.id]: b for b in branches}
    order = list(by_id)
    forks = {}  # (parent id, fork position) -> its non-empty forks, oldest first
    for b in branches:  # root first, then by creation
        if b.parent_id is not None and b.message_count > 0:
            forks.setdefault((ids[b.parent_id], b.fork_position), []).append(ids[b.id])

    def alternatives(holder_id: str, position: int) -> list[str]:
        holder = by_id[holder_id]
        if holder.parent_id is None or position > holder.fork_position:
            # The holder holds the history before `position` too: the pair
            # continues it, beside whatever forks there (most pairs: none).
            others = forks.get((holder_id, position))
            return [holder_id, *others] if others else [holder_id]
        # The pair is the first of the holder's own: the alternatives are
        # those of its parent's path at that position.
        base_id = ids[holder.parent_id]
        base = by_id[base_id]
        # The holder is one of them whatever its count says: a generated
        # pair is counted only a second into its answer.
        continues = base.fork_position + base.message_count > position
        others = forks.get((base_id, position), [])
        if holder_id not in others:
            others = sorted([*others, holder_id], key=order.index)
        return ([base_id] if continues else []) + others

    return alternatives


def chat_page(
    *, user: User, chat_id: uuid.UUID, branch_id: uuid.UUID | None = None, limit: int, before: uuid.UUID | None = None
) -> dict:
    """get-chat: the chat, the branch shown and a page of its path, each pair
    with its `alternatives`."""
    chat, branches = chat_with_branches(user=user, chat_id=chat_id)
    shown_id = branch_id or chat.active_branch_id
    branch = next((b for b in branches if b.id == shown_id), None)
    if branch is None:
        raise NotFound("Branch not found in this chat.")
    messages, has_more = path_page(chat_id=chat.id, branches=branches, branch=branch, limit=limit, before=before)
    alternatives = fork_alternatives(branches)
    for message in messages:
        message["alternatives"] = alternatives(message["branch_id"], message["position"])
    return {
        **chat_representation(chat, root_branch_id=branches[0].id, branch_count=len(branches)),
        "branch_id": str(branch.id),
        "messages": messages,
        "has_more": has_more,
    }


def messages_page(
    *, user: User, chat_id: uuid.UUID, branch_id: uuid.UUID | None = None, limit: int, before: uuid.UUID | None = None
) -> dict:
    """get-messages: get-chat's page without the chat around it."""
    page = chat_page(user=user, chat_id=chat_id, branch_id=branch_id, limit=limit, before=before)
    return {key: page[key] for key in ("chat_id", "branch_id", "messages", "has_more")}
