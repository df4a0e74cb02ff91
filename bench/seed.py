"""Seeding the benchmark's data, all of it before anything is measured.

Chats and branches go through the real services (`chat_create`,
`branch_create`); a chat's long history goes through
`content_repository.append_pair`, the very call `message_add` makes, with the
branch's `message_count` and the chat's activity updated as `message_add`
would, so the data has the shape the API writes.
"""

import dataclasses
import uuid

import bson
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from branches.services import branch_create
from chats import content_repository
from chats.models import Branch, Chat
from chats.services import chat_create

QUESTION_CHARS = 200
RESPONSE_CHARS = 2000
DEEP_LEVELS = 5

_WORDS = (
    "branch chat pair question response bucket cache page cursor fork path "
    "history store latency index query python django redis mongo postgres"
).split()


def text(seed, chars):
    """Deterministic ASCII prose of exactly `chars` characters."""
    words, i, length = [], seed, 0
    while length < chars:
        word = _WORDS[(i * 7 + len(words)) % len(_WORDS)]
        words.append(word)
        length += len(word) + 1
        i += 1
    return " ".join(words)[:chars]


def question(i):
    return text(i, QUESTION_CHARS)


def response(i):
    return text(i + 1, RESPONSE_CHARS)


def user(username):
    User = get_user_model()
    found, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@bench.invalid"})
    return found


@dataclasses.dataclass
class SeededChat:
    chat_id: uuid.UUID
    root_id: uuid.UUID
    pairs: int
    response_ids: list  # of the root's own pairs, oldest first
    deep_branch_id: uuid.UUID | None = None
    branch_ids: list = dataclasses.field(default_factory=list)


def append_pairs(*, chat_id, branch_id, count, offset=0):
    """`count` pairs appended as `message_add` appends them; their response_ids."""
    ids = []
    for i in range(offset, offset + count):
        pair = content_repository.append_pair(chat_id=chat_id, branch_id=branch_id, question=question(i), response=response(i))
        ids.append(pair.response_id)
    with transaction.atomic():
        Branch.objects.filter(pk=branch_id).update(message_count=F("message_count") + count)
        Chat.objects.filter(pk=chat_id).update(updated_at=timezone.now())
    return ids


def chat_with_pairs(*, owner, pairs, title):
    chat, _ = chat_create(user=owner, title=title)
    ids = append_pairs(chat_id=chat.id, branch_id=chat.active_branch_id, count=pairs)
    return SeededChat(chat_id=chat.id, root_id=chat.active_branch_id, pairs=pairs, response_ids=ids)


def spread_branches(*, owner, seeded, count):
    """`count` branches without pairs of their own, forking after pairs spread
    evenly over the root's history; not activated."""
    made = []
    for k in range(count):
        response_id = seeded.response_ids[(k * seeded.pairs) // count]
        branch, _ = branch_create(user=owner, chat_id=seeded.chat_id, response_id=response_id, activate=False)
        made.append(branch.id)
    seeded.branch_ids.extend(made)
    return made


def deep_chain(*, owner, seeded, levels=DEEP_LEVELS):
    """A chain of `levels` branches, each forking after its parent's last pair
    and holding one pair of its own; returns the deepest."""
    fork_after = seeded.response_ids[-1]
    branch = None
    for level in range(levels):
        branch, _ = branch_create(
            user=owner,
            chat_id=seeded.chat_id,
            response_id=fork_after,
            name=f"level {level + 1}",
            question=question(level),
            response=response(level),
            activate=False,
        )
        fork_after = content_repository.read_pairs_before(chat_id=seeded.chat_id, branch_id=branch.id, limit=1)[0].response_id
        seeded.branch_ids.append(branch.id)
    seeded.deep_branch_id = branch.id
    return branch.id


def content_bytes(chat_id):
    """BSON bytes of every content document of a chat (what MongoDB stores)."""
    docs = content_repository.connection.collection().find({"chat_id": str(chat_id)})
    return sum(len(bson.encode(doc)) for doc in docs)


def many_chats(*, owner, count, batch=5000):
    """`count` empty chats with their root branches, bulk-created, each with its
    own activity time (one second apart) so keyset pagination sees no ties."""
    for start in range(0, count, batch):
        n = min(batch, count - start)
        chats, roots = [], []
        for i in range(start, start + n):
            chat_id, root_id = uuid.uuid4(), uuid.uuid4()
            chats.append(Chat(id=chat_id, owner=owner, title=f"Chat {i}", active_branch_id=root_id))
            roots.append(Branch(id=root_id, chat_id=chat_id, name="main"))
        with transaction.atomic():
            Chat.objects.bulk_create(chats)
            Branch.objects.bulk_create(roots)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE chats AS c SET updated_at = now() - s.n * interval '1 second'
            FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM chats WHERE owner_id = %s) AS s
            WHERE c.id = s.id
            """,
            [owner.pk],
        )
        cursor.execute("ANALYZE chats")
        cursor.execute("ANALYZE conversations")
