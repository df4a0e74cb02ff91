"""Export a chat's whole tree, and import it again under new ids.

The JSON export (`FORMAT`, version 1) is:

    {"format": "branching-chat", "version": 1,
     "chat": {"id", "title", "status", "owner", "created_at", "updated_at",
              "locked", "hidden"},      # the moderation flags; optional on import
                                        # (older exports: derived from status)
     "active_branch_id": "<id of one of the branches>",
     "branches": [                      # root first; parents before children
       {"id", "name", "parent_id",      # parent_id null for the root
        "fork_response_id",             # the parent's pair it forks after, or null
        "fork_position",                # how many pairs it inherits
        "created_at",
        "pairs": [{"response_id", "question", "response", "timestamp",
                   "status", "model", "finish_reason", "usage", "error_code"}]}]}

The last five say how a response came to be (a generated one: its model,
why it ended, its tokens, the code of the error that ended it); exports made
before generation existed lack them, and their pairs import as `complete`. A
pair still `generating` when exported imports as `interrupted` with the text
it had.

A pair's list of branches forking after it is not exported: it follows from
the branches' `fork_response_id`, and importing rebuilds it. Import goes
through the same services as the API, so both stores stay in step.
"""

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model

from chatproject.api.formats import iso_datetime
from chats import content_repository
from chats import services as chat_services
from chatproject.errors import GENERATION_ENDING_CODES
from chats.models import Chat, ChatStatus
from chats.selectors import chat_branches, path_page

from . import services
from .selectors import subtree

FORMAT = "branching-chat"
VERSION = 1


class InvalidExport(ValueError):
    """The file is not an export this version can import."""


class PartialImport(RuntimeError):
    """An import failed and what it had made could not be removed."""

    def __init__(self, chat_id):
        super().__init__(f"the import failed half-way and chat {chat_id} could not be removed; delete it")
        self.chat_id = chat_id


def _as_is(items, total):
    return items


def export_tree(chat, *, progress=_as_is):
    """The whole tree as the JSON format above. `progress(items, total)` may
    wrap the walk over branches (commands show it)."""
    # Tree order, parents before children (creation times need not be).
    branches = subtree(branches=chat_branches(chat=chat), top=chat.branches.get(parent__isnull=True))
    return {
        "format": FORMAT,
        "version": VERSION,
        "chat": {
            "id": str(chat.id),
            "title": chat.title,
            "status": chat.status,
            "locked": chat.locked,
            "hidden": chat.hidden,
            "owner": chat.owner.get_username(),
            "created_at": iso_datetime(chat.created_at),
            "updated_at": iso_datetime(chat.updated_at),
        },
        "active_branch_id": str(chat.active_branch_id),
        "branches": [
            {
                "id": str(b.id),
                "name": b.name,
                "parent_id": None if b.parent_id is None else str(b.parent_id),
                "fork_response_id": None if b.fork_response_id is None else str(b.fork_response_id),
                "fork_position": b.fork_position,
                "created_at": iso_datetime(b.created_at),
                "pairs": [
                    {
                        "response_id": p.response_id,
                        "question": p.question,
                        "response": p.response,
                        "timestamp": iso_datetime(p.timestamp),
                        "status": p.status,
                        "model": p.model,
                        "finish_reason": p.finish_reason,
                        "usage": p.usage,
                        "error_code": p.error_code,
                    }
                    for p in content_repository.read_all_pairs(chat_id=chat.id, branch_id=b.id)
                ],
            }
            for b in progress(branches, len(branches))
        ],
    }


def export_markdown(chat):
    """The active branch's whole path, readable."""
    branches = chat_branches(chat=chat)
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


def _when(text):
    """An ISO 8601 time with its offset, as exports write them; else InvalidExport."""
    if not isinstance(text, str):
        raise InvalidExport(f"{text!r} is not a timestamp")
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        utc = moment.astimezone(datetime.UTC) if moment.tzinfo else None
    except (ValueError, OverflowError) as exc:
        raise InvalidExport(f"{text!r} is not a timestamp") from exc
    if utc is None:
        raise InvalidExport(f"timestamp {text!r} has no offset")
    return utc


def validate_export(data):
    """Check an export before anything is written; raises InvalidExport."""
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version") != VERSION:
        raise InvalidExport(f"not a {FORMAT!r} export of version {VERSION}")
    try:
        branches = data["branches"]
        ids = [b["id"] for b in branches]
        roots = [b for b in branches if b["parent_id"] is None]
        if len(roots) != 1 or branches[0] is not roots[0]:
            raise InvalidExport("exactly one root branch, listed first, is needed")
        if data["active_branch_id"] not in ids:
            raise InvalidExport("active_branch_id names no branch of the export")
        seen, pairs_of = set(), {}
        for branch in branches:
            if branch["parent_id"] is not None and branch["parent_id"] not in seen:
                raise InvalidExport(f"branch {branch['id']} comes before its parent")
            if branch["fork_response_id"] is not None and branch["fork_response_id"] not in pairs_of.get(
                branch["parent_id"], ()
            ):
                raise InvalidExport(f"branch {branch['id']} forks after a pair its parent does not hold")
            _check_text(branch["name"], settings.MAX_TITLE_CHARS, "branch name")
            _when(branch["created_at"])
            for pair in branch["pairs"]:
                _when(pair["timestamp"])
                _check_generation(pair)
                _check_text(pair["question"], settings.MAX_MESSAGE_CHARS, "question")
                # A generation that ended before any text (failed, or stopped
                # at once) leaves an empty response; any other response has text.
                ended_early = pair.get("status") in {
                    content_repository.FAILED, content_repository.INTERRUPTED, content_repository.GENERATING
                }
                if not (ended_early and pair["response"] == ""):
                    _check_text(pair["response"], settings.MAX_MESSAGE_CHARS, "response")
            seen.add(branch["id"])
            pairs_of[branch["id"]] = [p["response_id"] for p in branch["pairs"]]
        _check_text(data["chat"]["title"], settings.MAX_TITLE_CHARS, "title")
        _when(data["chat"]["created_at"])
        _when(data["chat"]["updated_at"])
        if data["chat"]["status"] not in ChatStatus.values:
            raise InvalidExport(f"unknown status {data['chat']['status']!r}")
        for flag in ("locked", "hidden"):
            if not isinstance(data["chat"].get(flag, False), bool):
                raise InvalidExport(f"{flag} must be true or false")
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, InvalidExport):
            raise
        raise InvalidExport(f"malformed export: {exc!r}") from exc
    return sum(len(b["pairs"]) for b in branches)


STATUSES = {"complete", "generating", "interrupted", "failed"}
FINISH_REASONS = {None, "stop", "length", "interrupted", "error"}


def _check_generation(pair):
    if pair.get("status", "complete") not in STATUSES:
        raise InvalidExport(f"unknown pair status {pair['status']!r}")
    if pair.get("finish_reason") not in FINISH_REASONS:
        raise InvalidExport(f"unknown finish_reason {pair['finish_reason']!r}")
    model, usage = pair.get("model"), pair.get("usage")
    if model is not None and (not isinstance(model, str) or len(model) > 200):
        raise InvalidExport("a pair's model must be a name of at most 200 characters")
    if usage is not None and not (
        isinstance(usage, dict)
        and set(usage) == {"prompt_tokens", "completion_tokens"}
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in usage.values())
    ):
        raise InvalidExport("a pair's usage must be {prompt_tokens, completion_tokens}, counts")
    error_code = pair.get("error_code")
    if error_code is not None and error_code not in GENERATION_ENDING_CODES:
        raise InvalidExport(f"unknown error_code {error_code!r}")


def _generation(pair):
    """How an exported pair's response came to be, for `append_pair`."""
    status = pair.get("status", "complete")
    if status == "complete" and pair.get("model") is None:
        return None  # a response the client sent
    if status == "generating":
        status = "interrupted"  # its generation is not coming with it
    return {
        "status": status,
        "model": pair.get("model"),
        "finish_reason": pair.get("finish_reason"),
        "usage": pair.get("usage"),
        "error_code": pair.get("error_code"),
    }


def _check_text(value, limit, what):
    if not isinstance(value, str) or not value or len(value) > limit or "\x00" in value:
        raise InvalidExport(f"{what} must be text of 1 to {limit} characters, without NUL")


def import_tree(data, *, owner, progress=_as_is):
    """Recreate an exported chat for `owner` with new ids, keeping titles,
    names, texts, timestamps and the active branch. Returns the new chat; on
    failure, what was made so far is deleted again."""
    validate_export(data)
    chat, _ = chat_services.chat_create(user=owner, title=data["chat"]["title"])
    try:
        new_ids = {data["branches"][0]["id"]: chat.active_branch_id}
        response_ids = {}
        for branch in progress(data["branches"], len(data["branches"])):
            if branch["parent_id"] is not None:
                fork = branch["fork_response_id"]
                made, _ = services.branch_create(
                    user=owner,
                    chat_id=chat.id,
                    response_id=None if fork is None else response_ids[fork],
                    name=branch["name"],
                    activate=False,
                )
                new_ids[branch["id"]] = made.id
            for pair in branch["pairs"]:
                stored, _ = chat_services.message_add(
                    user=owner,
                    chat_id=chat.id,
                    branch_id=new_ids[branch["id"]],
                    question=pair["question"],
                    response=pair["response"],
                    timestamp=_when(pair["timestamp"]),
                    generation={"generation": _generation(pair)},
                )
                response_ids[pair["response_id"]] = stored.response_id
        services.branch_activate(user=owner, chat_id=chat.id, branch_id=new_ids[data["active_branch_id"]])
        services.branch_rename(
            user=owner, chat_id=chat.id, branch_id=new_ids[data["branches"][0]["id"]], name=data["branches"][0]["name"]
        )
        chat_services.chat_times_restore(
            chat_id=chat.id,
            created_at=_when(data["chat"]["created_at"]),
            updated_at=_when(data["chat"]["updated_at"]),
            branches_created_at={new_ids[b["id"]]: _when(b["created_at"]) for b in data["branches"]},
        )
        for action in _moderation(data["chat"]):
            chat_services.chat_moderate(chat_id=chat.pk, action=action)
        chat.refresh_from_db()
        return chat
    except Exception as exc:
        try:
            chat_services.chat_delete(chat=Chat.objects.get(pk=chat.pk))
        except Exception:
            raise PartialImport(chat.id) from exc
        raise


def _moderation(exported):
    """The moderation actions that give the new chat the exported flags."""
    status = exported["status"]
    locked = exported.get("locked", status == ChatStatus.LOCKED)
    hidden = exported.get("hidden", status == ChatStatus.HIDDEN)
    Moderation = chat_services.Moderation
    return [action for action, wanted in ((Moderation.LOCK, locked), (Moderation.HIDE, hidden)) if wanted]


def find_owner(username):
    return get_user_model().objects.get(username=username)
