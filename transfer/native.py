"""Our own export format: a chat's whole tree, read back exactly.

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
it had. A branch with a null `fork_response_id` forks from the root before
its first pair.

A pair's list of branches forking after it is not exported: it follows from
the branches' `fork_response_id`, and importing rebuilds it.
"""

import datetime

from django.conf import settings

from chatproject.api.formats import iso_datetime
from chatproject.errors import GENERATION_ENDING_CODES
from chats import content_repository
from chats.models import ChatStatus

from .plan import ChatPlan, PlannedBranch, PlannedPair, UnsupportedFormat, source_id, storable

FORMAT = "branching-chat"
VERSION = 1

STATUSES = {"complete", "generating", "interrupted", "failed"}
FINISH_REASONS = {None, "stop", "length", "interrupted", "error"}


def _as_is(items, total):
    return items


def export_tree(chat, branches, *, progress=_as_is):
    """The whole tree as the JSON format above: `branches` in tree order,
    parents before children. `progress(items, total)` may wrap the walk over
    branches (commands show it). One content read for the whole chat."""
    content = content_repository.read_chat(chat_id=chat.id)
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
                    for p in content.get(str(b.id), [])
                ],
            }
            for b in progress(branches, len(branches))
        ],
    }


def is_export(data):
    return isinstance(data, dict) and data.get("format") == FORMAT


def plan_from_export(data) -> ChatPlan:
    """Check an export and read it as a plan, before anything is written;
    raises UnsupportedFormat saying where it fails."""
    if not is_export(data) or data.get("version") != VERSION:
        raise UnsupportedFormat(f"not a {FORMAT!r} export of version {VERSION}")
    try:
        return _plan(data)
    except UnsupportedFormat:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UnsupportedFormat(f"malformed export: {exc!r}") from exc


def _plan(data):
    branches = data["branches"]
    roots = [b for b in branches if b["parent_id"] is None]
    if len(roots) != 1 or branches[0] is not roots[0]:
        raise UnsupportedFormat("exactly one root branch, listed first, is needed")
    index_of, pairs_of, planned = {}, {}, []
    for number, branch in enumerate(branches):
        where = f"branches[{number}]"
        parent, fork = None, None
        if branch["parent_id"] is not None:
            if branch["parent_id"] not in index_of:
                raise UnsupportedFormat(f"{where} (branch {branch['id']}) comes before its parent")
            parent = index_of[branch["parent_id"]]
            if branch["fork_response_id"] is None:
                if parent != 0:
                    raise UnsupportedFormat(f"{where} forks before the first pair but its parent is not the root")
            elif branch["fork_response_id"] in pairs_of[branch["parent_id"]]:
                fork = pairs_of[branch["parent_id"]].index(branch["fork_response_id"])
            else:
                raise UnsupportedFormat(f"{where} (branch {branch['id']}) forks after a pair its parent does not hold")
        _check_text(branch["name"], settings.MAX_TITLE_CHARS, f"{where}.name")
        planned.append(
            PlannedBranch(
                name=branch["name"],
                created_at=_when(branch["created_at"], f"{where}.created_at"),
                parent=parent,
                fork=fork,
                pairs=[_pair(pair, f"{where}.pairs[{i}]") for i, pair in enumerate(branch["pairs"])],
            )
        )
        index_of[branch["id"]] = number
        pairs_of[branch["id"]] = [p["response_id"] for p in branch["pairs"]]
    if data["active_branch_id"] not in index_of:
        raise UnsupportedFormat("active_branch_id names no branch of the export")
    chat = data["chat"]
    _check_text(chat["title"], settings.MAX_TITLE_CHARS, "chat.title")
    if chat["status"] not in ChatStatus.values:
        raise UnsupportedFormat(f"chat.status: unknown status {chat['status']!r}")
    flags = {}
    for flag, by_status in (("locked", ChatStatus.LOCKED), ("hidden", ChatStatus.HIDDEN)):
        flags[flag] = chat.get(flag, chat["status"] == by_status)
        if not isinstance(flags[flag], bool):
            raise UnsupportedFormat(f"chat.{flag} must be true or false")
    return ChatPlan(
        title=chat["title"],
        created_at=_when(chat["created_at"], "chat.created_at"),
        updated_at=_when(chat["updated_at"], "chat.updated_at"),
        branches=planned,
        active=index_of[data["active_branch_id"]],
        source=f"{FORMAT}:{source_id(chat['id'])}" if isinstance(chat.get("id"), str) and chat["id"] else None,
        **flags,
    )


def _pair(pair, where):
    _check_generation(pair, where)
    _check_text(pair["question"], settings.MAX_MESSAGE_CHARS, f"{where}.question")
    # A generated response may be empty (stopped at once, failed, or ended
    # by the model with no text); one the client sent has text.
    generated = pair.get("status", "complete") != "complete" or pair.get("model") is not None
    if not (generated and pair["response"] == ""):
        _check_text(pair["response"], settings.MAX_MESSAGE_CHARS, f"{where}.response")
    return PlannedPair(
        question=pair["question"],
        response=pair["response"],
        timestamp=_when(pair["timestamp"], f"{where}.timestamp"),
        generation=_generation(pair),
    )


def _when(text, where):
    """An ISO 8601 time with its offset, as exports write them."""
    if not isinstance(text, str):
        raise UnsupportedFormat(f"{where}: {text!r} is not a timestamp")
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        utc = moment.astimezone(datetime.UTC) if moment.tzinfo else None
    except (ValueError, OverflowError) as exc:
        raise UnsupportedFormat(f"{where}: {text!r} is not a timestamp") from exc
    if utc is None:
        raise UnsupportedFormat(f"{where}: timestamp {text!r} has no offset")
    return utc


def _check_generation(pair, where):
    if pair.get("status", "complete") not in STATUSES:
        raise UnsupportedFormat(f"{where}: unknown pair status {pair['status']!r}")
    if pair.get("finish_reason") not in FINISH_REASONS:
        raise UnsupportedFormat(f"{where}: unknown finish_reason {pair['finish_reason']!r}")
    model, usage = pair.get("model"), pair.get("usage")
    if model is not None and (not isinstance(model, str) or len(model) > 200 or storable(model) != model):
        raise UnsupportedFormat(f"{where}: a pair's model must be a name of at most 200 characters")
    if usage is not None and not (
        isinstance(usage, dict)
        and set(usage) == {"prompt_tokens", "completion_tokens"}
        and all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 2**63 for n in usage.values())
    ):
        raise UnsupportedFormat(f"{where}: a pair's usage must be {{prompt_tokens, completion_tokens}}, counts")
    error_code = pair.get("error_code")
    if error_code is not None and error_code not in GENERATION_ENDING_CODES:
        raise UnsupportedFormat(f"{where}: unknown error_code {error_code!r}")


def _generation(pair):
    """How an exported pair's response came to be, as `append_pair` takes it."""
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


def _check_text(value, limit, where):
    if not isinstance(value, str) or not value or len(value) > limit or "\x00" in value:
        raise UnsupportedFormat(f"{where} must be text of 1 to {limit} characters, without NUL")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsupportedFormat(f"{where} holds a lone surrogate, which is not text") from None
