"""A chat as a file, in each format: the API's export-chat and the
`export_chat` command both come through `export_document`."""

import dataclasses
import json

from django.utils.text import slugify

from branches.selectors import subtree
from chats import content_repository
from chats.selectors import chat_branches, path_page

from . import chatgpt, native

FORMATS = ("json", "markdown", "chatgpt")


@dataclasses.dataclass(frozen=True)
class Export:
    text: str
    content_type: str
    filename: str


def export_document(chat, format, *, progress=None):
    """The chat (any owner: callers check) in `format`, as a file."""
    branches = chat_branches(chat=chat)
    name = slugify(chat.title)[:60].strip("-") or "chat"
    if format == "markdown":
        return Export(export_markdown(chat, branches), "text/markdown; charset=utf-8", f"{name}.md")
    # Tree order, parents before children (creation times need not be).
    ordered = subtree(branches=branches, top=next(b for b in branches if b.parent_id is None))
    if format == "chatgpt":
        conversation = chatgpt.export_conversation(chat, ordered, content_repository.read_chat(chat_id=chat.id))
        # An array of one: the file is a conversations.json as ChatGPT writes
        # it, without indentation (a node is a dozen lines indented).
        text = json.dumps([conversation], ensure_ascii=False, separators=(",", ":")) + "\n"
        return Export(text, "application/json", f"{name}.conversations.json")
    walk = {} if progress is None else {"progress": progress}
    return Export(_json(native.export_tree(chat, ordered, **walk)), "application/json", f"{name}.json")


def _json(document):
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def export_markdown(chat, branches):
    """The active branch's whole path, readable."""
    active = next(b for b in branches if b.id == chat.active_branch_id)
    length = active.fork_position + content_repository.branch_length(chat_id=chat.id, branch_id=active.id)
    messages, _ = path_page(chat_id=chat.id, branches=branches, branch=active, limit=max(length, 1))
    lines = [f"# {chat.title}", "", f"Branch **{active.name}** · {len(messages)} pairs · {chat.status}", ""]
    for message in messages:
        lines += [
            f"## {message['position'] + 1}. Question",
            "",
            message["question"],
            "",
            f"**Response** ({message['timestamp']})",
            "",
            message["response"],
            "",
        ]
    return "\n".join(lines)
