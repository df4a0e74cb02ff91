"""Import: a document read into plans (`read_document`), each plan written
as a chat (`chat_import`); the API and the `import_chat` command both come
through `import_document`.

A chat is written as a whole, in a fixed number of calls whatever its size:
its content in one MongoDB call (`content_repository.write_chat`, buckets
built in advance), then its chat and branch rows in one PostgreSQL
transaction. Content first, as every write here: if MongoDB fails, nothing
is in PostgreSQL; if PostgreSQL fails, the content is removed again (or left
for `reconcile_content`, which removes content whose chat does not exist).
"""

import dataclasses
import uuid

from django.db import IntegrityError, transaction

from accounts.models import User
from chatproject.cache import bump_chat
from chats import content_repository
from chats.models import Branch, Chat
from chats.services import chat_content_discard
from search import index as search_index

from . import chatgpt, native
from .plan import ChatPlan, Skip, UnsupportedFormat, storable


@dataclasses.dataclass
class ImportResult:
    imported: list = dataclasses.field(default_factory=list)
    skipped: list = dataclasses.field(default_factory=list)


class TooManyConversations(ValueError):
    pass


def read_document(data, *, max_conversations=None):
    """The format of a parsed document and its conversations as
    [(index, title, plan or Skip)]. UnsupportedFormat when it is neither
    format; TooManyConversations past `max_conversations` (None: no limit)."""
    if native.is_export(data):
        plan = native.plan_from_export(data)
        return native.FORMAT, [(0, plan.title, plan)]
    if not chatgpt.is_conversations(data):
        raise UnsupportedFormat(
            "neither a branching-chat export (an object with \"format\": \"branching-chat\") nor a ChatGPT "
            "conversations.json (an array of conversations, each with a `mapping`)"
        )
    conversations = data if isinstance(data, list) else [data]
    if max_conversations is not None and len(conversations) > max_conversations:
        raise TooManyConversations(
            f"The file holds {len(conversations)} conversations; at most {max_conversations} are imported at once."
        )
    read = []
    for index, conversation in enumerate(conversations):
        title = conversation.get("title") if isinstance(conversation, dict) else None
        title = storable(title) if isinstance(title, str) else None
        try:
            read.append((index, title, chatgpt.plan_from_conversation(conversation, f"[{index}]")))
        except Skip as skip:
            read.append((index, title, skip))
    return chatgpt.FORMAT, read


def import_document(data, *, owner: User, keep_hidden: bool, max_conversations=None, progress=None):
    """Import every conversation of a parsed document for `owner`: each one
    becomes a chat, or is skipped with a code. `keep_hidden`: whether an
    export's hidden flag is kept (the operators' command) or dropped (the
    API: hiding is a moderator's act; a lock is kept either way)."""
    _, conversations = read_document(data, max_conversations=max_conversations)
    result = ImportResult()
    done = _already_imported(owner, [p.source for _, _, p in conversations if isinstance(p, ChatPlan) and p.source])
    walk = conversations if progress is None else progress(conversations, len(conversations))
    for index, title, plan in walk:
        try:
            if isinstance(plan, Skip):
                raise plan
            if plan.source in done:
                raise Skip("already_imported", f"[{index}]: imported before, as chat {done[plan.source]}")
            chat = chat_import(owner=owner, plan=plan, keep_hidden=keep_hidden)
        except Skip as skip:
            result.skipped.append({"index": index, "title": title, "code": skip.code, "detail": skip.detail})
            continue
        result.imported.append(
            {
                "chat_id": chat.id,
                "title": chat.title,
                "branches": len(plan.branches),
                "pairs": plan.pair_count,
                "dropped_parts": plan.dropped_parts,
            }
        )
    return result


def _already_imported(owner, sources):
    found = Chat.objects.filter(owner=owner, imported_from__in=sources).values_list("imported_from", "id")
    return dict(found) if sources else {}


def chat_import(*, owner: User, plan: ChatPlan, keep_hidden: bool = True) -> Chat:
    """Write a plan as a new chat of `owner`, with new ids; Skip
    `already_imported` when the owner has a chat from the same source."""
    chat_id = uuid.uuid4()
    branch_ids = [uuid.uuid4() for _ in plan.branches]
    stored = [
        [content_repository.new_pair(
            question=p.question, response=p.response, timestamp=p.timestamp, generation=p.generation
        ) for p in branch.pairs]
        for branch in plan.branches
    ]
    fork_positions = []
    for index, branch in enumerate(plan.branches):
        if branch.fork is None:
            fork_positions.append(0)
            continue
        stored[branch.parent][branch.fork]["branches"].append(str(branch_ids[index]))
        fork_positions.append(fork_positions[branch.parent] + branch.fork + 1)
    try:
        content_repository.write_chat(chat_id=chat_id, branches=list(zip(branch_ids, stored, strict=True)))
        with transaction.atomic():
            chat = Chat.objects.create(
                id=chat_id,
                owner=owner,
                title=plan.title,
                active_branch_id=branch_ids[plan.active],
                locked=plan.locked,
                hidden=plan.hidden and keep_hidden,
                imported_from=plan.source,
            )
            rows = Branch.objects.bulk_create(
                [
                    Branch(
                        id=branch_ids[index],
                        chat=chat,
                        parent_id=None if branch.parent is None else branch_ids[branch.parent],
                        fork_response_id=None if branch.fork is None else stored[branch.parent][branch.fork]["response_id"],
                        fork_position=fork_positions[index],
                        name=branch.name,
                        message_count=len(branch.pairs),
                    )
                    for index, branch in enumerate(plan.branches)
                ]
            )
            # auto_now_add stamped both; the plan's times replace them.
            for row, branch in zip(rows, plan.branches, strict=True):
                row.created_at = branch.created_at
            Branch.objects.bulk_update(rows, ["created_at"])
            Chat.objects.filter(pk=chat_id).update(created_at=plan.created_at, updated_at=plan.updated_at)
            search_index.index_pairs(
                owner_id=owner.pk,
                chat_id=chat_id,
                pairs=[
                    pair
                    for branch_id, pairs in zip(branch_ids, stored, strict=True)
                    for pair in content_repository.stored_pairs(branch_id=branch_id, pairs=pairs)
                ],
            )
    except IntegrityError as exc:
        _remove_content(chat_id)
        if plan.source and Chat.objects.filter(owner=owner, imported_from=plan.source).exists():
            raise Skip("already_imported", "imported before, at the same time as this import") from exc
        raise
    except BaseException:
        _remove_content(chat_id)
        raise
    bump_chat(chat_id)
    chat.created_at, chat.updated_at = plan.created_at, plan.updated_at
    return chat


def _remove_content(chat_id):
    try:
        chat_content_discard(chat_id=chat_id)
    except content_repository.ContentStoreUnavailable:
        pass  # content without its chat: reconcile_content removes it
