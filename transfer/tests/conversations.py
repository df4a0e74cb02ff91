"""ChatGPT-shaped conversations for the tests, written the way ChatGPT's
export writes them, and a reader of what an import made."""

import itertools

from branches.selectors import subtree
from chats import content_repository
from chats.models import Branch, Chat

START = 1_764_000_000.0  # 2025-11-24, a time ChatGPT would write
_clock = itertools.count()


def message(role, text=None, *, parts=None, content_type="text", status="finished_successfully", **metadata):
    """A message node's `message`; `parts` for anything but one text part."""
    return {
        "id": None,  # filled by `conversation`
        "author": {"role": role, "name": None, "metadata": {}},
        "create_time": START + next(_clock),
        "update_time": None,
        "content": {"content_type": content_type, "parts": parts if parts is not None else [text]},
        "status": status,
        "end_turn": True if role == "assistant" else None,
        "weight": 1.0,
        "metadata": metadata,
        "recipient": "all",
    }


def user(text, **options):
    return message("user", text, **options)


def assistant(text, **options):
    return message("assistant", text, **options)


def conversation(nodes, *, title="A conversation", current=None, conversation_id=None, root="root"):
    """`nodes`: (id, parent id, message or None), parents first; the root
    node (message null) is added unless `root` is None. Children are listed
    in the order the nodes come."""
    mapping = {}
    if root is not None:
        mapping[root] = {"id": root, "message": None, "parent": None, "children": []}
    for node_id, parent, body in nodes:
        if body is not None:
            body = {**body, "id": node_id}
        mapping[node_id] = {"id": node_id, "message": body, "parent": parent, "children": []}
    for node_id, parent, _ in nodes:
        if parent in mapping:
            mapping[parent]["children"].append(node_id)
    return {
        "title": title,
        "create_time": START,
        "update_time": START + 3600,
        "mapping": mapping,
        "moderation_results": [],
        "current_node": current if current is not None else nodes[-1][0],
        "plugin_ids": None,
        "conversation_id": conversation_id or f"conv-{next(_clock)}",
        "conversation_template_id": None,
        "gizmo_id": None,
        "is_archived": False,
        "safe_urls": [],
        "default_model_slug": "gpt-4o",
        "id": conversation_id or f"conv-{next(_clock)}",
    }


def chain(*texts, parent="root", prefix="n"):
    """Alternating user/assistant nodes in a line under `parent`."""
    nodes, previous = [], parent
    for i, text in enumerate(texts):
        node_id = f"{prefix}{i}"
        nodes.append((node_id, previous, user(text) if i % 2 == 0 else assistant(text, model_slug="gpt-4o")))
        previous = node_id
    return nodes


def shape(chat_id):
    """What an import made, to compare whole: the title, the active branch's
    name and each branch in tree order as (name, parent's name,
    fork_position, [(question, response, status), …])."""
    chat = Chat.objects.get(pk=chat_id)
    # By name ("main", "branch 1" …: the order the import made them).
    branches = sorted(Branch.objects.filter(chat=chat), key=lambda b: (b.parent_id is not None, b.name))
    names = {b.id: b.name for b in branches}
    content = content_repository.read_chat(chat_id=chat.id)
    ordered = subtree(branches=branches, top=next(b for b in branches if b.parent_id is None))
    return {
        "title": chat.title,
        "active": names[chat.active_branch_id],
        "branches": [
            (
                b.name,
                names.get(b.parent_id),
                b.fork_position,
                [(p.question, p.response, p.status) for p in content.get(str(b.id), [])],
            )
            for b in ordered
        ],
    }
