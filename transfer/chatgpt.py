"""ChatGPT's export format (`conversations.json`), both ways.

A conversation is a tree of messages: `mapping` holds nodes `{id, message,
parent, children}`, the root's `message` is null, alternatives are sibling
nodes (an edited question: two user children of one answer; a regenerated
answer: two assistant children of one question), and `current_node` is the
last node of the path shown.

Reading one (`plan_from_conversation`), by these rules:
- the tree is the nodes' `parent` links; `children` gives the order of
  siblings where it lists them;
- system, tool and hidden messages (and nodes without a message) are dropped;
  their children hang from the nearest message kept;
- a user message followed by assistant messages is a pair; several assistant
  messages in a row (a tool call, its result dropped, then the answer) make
  one response, their texts joined; an answer before any question is dropped;
- several answers to one question, or several questions after one answer,
  are alternatives: the first continues the branch, each other one opens a
  branch at that point (`plan.branches_from_pair_tree`);
- the path to `current_node` is the active branch;
- an answer whose status says it was cut is `interrupted`; a question left
  unanswered is a pair with an empty, `interrupted` response;
- parts that are not text (images, files, code runs) are left out and
  counted (`dropped_parts`); a question or answer that had nothing else
  reads `plan.TEXT_LEFT_OUT`.

Writing one (`export_conversation`) gives a node per question (user) and per
response (assistant, with `metadata.model_slug` for a generated one), each
branch's first question a sibling of what follows its fork pair, the branch
that holds the pair first: read back by the rules above, the same tree.
"""

import datetime
import math
import uuid

from chats.services import default_title

from .plan import (
    TEXT_LEFT_OUT,
    ChatPlan,
    PlannedPair,
    Skip,
    UnsupportedFormat,
    branches_from_pair_tree,
    checked_text,
    checked_title,
    source_id,
    storable,
)

FORMAT = "chatgpt"
DROPPED_ROLES = {"system", "tool"}
CUT_STATUSES = {"in_progress", "finished_partial_completion"}
# finish_details.type <-> our finish_reason
FINISH_TYPES = {"stop": "stop", "length": "max_tokens", "interrupted": "interrupted", "error": "error"}
FINISH_REASONS = {value: key for key, value in FINISH_TYPES.items()}


def is_conversations(data):
    return isinstance(data, list) or (isinstance(data, dict) and "mapping" in data)


def plan_from_conversation(conversation, where) -> ChatPlan:
    """A plan for one conversation; Skip when it cannot be imported (its tree
    is broken, it holds no question, a text is too long), UnsupportedFormat
    when it is not a conversation at all."""
    mapping = _mapping(conversation, where)
    parents, kids = _tree(mapping, where)
    pairs, top, children = _pairs(mapping, parents, kids)
    if not pairs:
        raise Skip("no_pairs", f"{where}: the conversation holds no question")
    created = _time(conversation.get("create_time"))
    planned, last = {}, created
    for key, (question_id, chain, _) in pairs.items():
        planned[key], last = _planned_pair(mapping, question_id, chain, last, where)
    created = created or min(pair.timestamp for pair in planned.values())
    updated = _time(conversation.get("update_time")) or max(pair.timestamp for pair in planned.values())
    branches, active = branches_from_pair_tree(
        top=top,
        children=children,
        pairs=planned,
        created_at=created,
        active_pair=_active_pair(conversation.get("current_node"), parents, pairs, mapping),
    )
    # A branch made when its first pair was, and after the one before it:
    # branches are listed (and exported again) in order of creation, which
    # must be the order of the alternatives in the document.
    for before, branch in zip(branches, branches[1:]):
        branch.created_at = max(branch.pairs[0].timestamp, before.created_at + datetime.timedelta(milliseconds=1))
    first_question = planned[top[0]].question
    source = conversation.get("conversation_id") or conversation.get("id")
    source = source_id(source) if isinstance(source, str) and source else None
    return ChatPlan(
        title=checked_title(conversation.get("title") if isinstance(conversation.get("title"), str) else "")
        or default_title(first_question),
        created_at=created,
        updated_at=max(updated, created),
        branches=branches,
        active=active,
        source=f"{FORMAT}:{source}" if source else None,
        dropped_parts=sum(_text(mapping[node]["message"])[1] for node in {n for p in pairs.values() for n in (p[0], *p[1])}),
    )


def _mapping(conversation, where):
    if not isinstance(conversation, dict) or not isinstance(conversation.get("mapping"), dict):
        raise UnsupportedFormat(f"{where}: a conversation is an object with a `mapping` object")
    for key, node in conversation["mapping"].items():
        at = f"{where}.mapping[{key!r}]"
        if not isinstance(node, dict):
            raise UnsupportedFormat(f"{at}: a node is an object")
        if node.get("parent") is not None and not isinstance(node["parent"], str):
            raise UnsupportedFormat(f"{at}.parent: a node id or null")
        if not isinstance(node.get("children", []), list):
            raise UnsupportedFormat(f"{at}.children: a list of node ids")
        message = node.get("message")
        if message is not None and not (isinstance(message, dict) and isinstance(message.get("author"), dict)):
            raise UnsupportedFormat(f"{at}.message: null or an object with an `author`")
    return conversation["mapping"]


def _tree(mapping, where):
    """Each node's parent and ordered children; Skip when they make no tree."""
    if not mapping:
        raise Skip("no_pairs", f"{where}: the conversation holds no question")
    parents = {key: node.get("parent") for key, node in mapping.items()}
    roots = [key for key, parent in parents.items() if parent is None]
    for key, parent in parents.items():
        if parent is not None and parent not in mapping:
            raise Skip("missing_parent", f"{where}: node {key!r} names parent {parent!r}, which is not in the mapping")
    if len(roots) > 1:
        raise Skip("several_roots", f"{where}: {len(roots)} nodes have no parent ({', '.join(map(repr, roots[:3]))})")
    kids = {key: [] for key in mapping}
    for key, parent in parents.items():
        if parent is not None:
            kids[parent].append(key)
    for key, found in kids.items():
        listed = {child: i for i, child in enumerate(mapping[key].get("children", [])) if isinstance(child, str)}
        found.sort(key=lambda child: (listed.get(child, math.inf), _time(_message_time(mapping[child])) or _EPOCH))
    reached, frontier = set(roots), list(roots)
    while frontier:
        for child in kids[frontier.pop()]:
            reached.add(child)
            frontier.append(child)
    if len(reached) < len(mapping):
        stray = next(key for key in mapping if key not in reached)
        raise Skip("cycle", f"{where}: node {stray!r} cannot be reached from a root: its parents form a cycle")
    return parents, kids


def _kind(message):
    if message is None:
        return None
    role = message["author"].get("role")
    hidden = _metadata(message).get("is_visually_hidden_from_conversation") is True
    return role if role in ("user", "assistant") and not hidden else None


def _pairs(mapping, parents, kids):
    """The pairs of the tree: {key: (question node, assistant nodes, key of the
    pair before)}, in document order, with the keys of the first pairs and
    of each pair's followers. A pair's key is its last node."""
    pairs, top, children = {}, [], {}

    def emit(question, chain, before):
        key = chain[1] if chain else question
        if key not in pairs:
            pairs[key] = (question, _unlinked(chain), before)
            (top if before is None else children.setdefault(before, [])).append(key)
        return key

    root = next(key for key, parent in parents.items() if parent is None)
    # A chain of answers is linked (earlier links, node): each node adds one
    # link, however long the chain, and a pair's answers are read out once.
    stack = [(root, None, None, None)]
    while stack:
        node, question, chain, before = stack.pop()
        kind = _kind(mapping[node].get("message"))
        if kind == "user":
            if question is not None:
                before = emit(question, chain, before)
            question, chain = node, None
        elif kind == "assistant" and question is not None:
            chain = (chain, node)
        if not kids[node] and question is not None:
            emit(question, chain, before)
        stack.extend((child, question, chain, before) for child in reversed(kids[node]))
    # A question answered on one path and left on another (a dropped system
    # note after it, say) is its answers, not also an unanswered pair.
    answered = {question for question, chain, _ in pairs.values() if chain}
    for key, (question, chain, before) in list(pairs.items()):
        if not chain and question in answered and not children.get(key):
            del pairs[key]
            (top if before is None else children[before]).remove(key)
    return pairs, top, children


def _unlinked(chain):
    nodes = []
    while chain is not None:
        chain, node = chain
        nodes.append(node)
    return tuple(reversed(nodes))


def _planned_pair(mapping, question_id, chain, last_time, where):
    question = mapping[question_id]["message"]
    answers = [mapping[node]["message"] for node in chain]
    question_text, _ = _text(question)
    texts = [_text(answer) for answer in answers]
    response = "\n\n".join(text for text, _ in texts if text)
    generation = _generation(answers[-1]) if answers else {"status": "interrupted", "finish_reason": "interrupted"}
    # Only parts left out make a placeholder: a generation may end with no text.
    left_out = any(dropped for _, dropped in texts)
    at = f"{where} node {(chain or (question_id,))[-1]!r}"
    moment = _time(_message_time(mapping[chain[-1]])) if chain else None
    moment = moment or _time(question.get("create_time")) or last_time or datetime.datetime.now(datetime.UTC)
    pair = PlannedPair(
        question=checked_text(question_text or TEXT_LEFT_OUT, "question", at),
        response=checked_text(response or (TEXT_LEFT_OUT if left_out else ""), "response", at),
        timestamp=moment,
        generation=generation,
    )
    return pair, moment


def _text(message):
    """(the message's text, how many parts of it were not text)."""
    content = message.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    if not isinstance(parts, list) or content.get("content_type") not in ("text", "multimodal_text"):
        return "", 1
    texts = [part for part in parts if isinstance(part, str)]
    return "\n\n".join(text for text in texts if text), len(parts) - len(texts)


def _metadata(message):
    metadata = message.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _generation(answer):
    metadata = _metadata(answer)
    model = metadata.get("model_slug")
    model = storable(model) if isinstance(model, str) and 0 < len(model) <= 200 else None
    details = metadata.get("finish_details")
    finish = FINISH_REASONS.get(details.get("type")) if isinstance(details, dict) else None
    status = answer.get("status")
    if finish == "interrupted" or (isinstance(status, str) and status in CUT_STATUSES):
        return {"status": "interrupted", "model": model, "finish_reason": finish or "interrupted"}
    if finish == "error":
        return {"status": "failed", "model": model, "finish_reason": "error"}
    if model is None:
        return None  # nothing says a model wrote it here: as a client-supplied answer
    return {"status": "complete", "model": model, "finish_reason": finish or "stop"}


def _active_pair(current, parents, pairs, mapping):
    """The pair the path to `current_node` ends with (None: unknown)."""
    first_of_question = {}
    for key, (question, _, _) in pairs.items():
        first_of_question.setdefault(question, key)
    node = current if isinstance(current, str) and current in mapping else None
    while node is not None:
        if node in pairs:
            return node
        if node in first_of_question:
            return first_of_question[node]
        node = parents[node]
    return None


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def _message_time(node):
    message = node.get("message")
    return message.get("create_time") if isinstance(message, dict) else None


def _time(value):
    """Seconds since the epoch (ChatGPT's times) as a UTC datetime, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    try:
        return datetime.datetime.fromtimestamp(value, datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _seconds(moment):
    return moment.timestamp()


def export_conversation(chat, branches, content):
    """The chat as one conversation of `conversations.json`: `branches` in
    tree order (root first), `content` their pairs by branch id
    (`content_repository.read_chat`)."""
    root_id = str(uuid.uuid5(chat.id, "root"))
    mapping = {root_id: {"id": root_id, "message": None, "parent": None, "children": []}}
    last_node = {}  # branch id -> the id of its last node (its path's end)
    first_nodes = {}  # branch id -> the id of its first question's node
    for branch in branches:
        for index, pair in enumerate(content.get(str(branch.id), [])):
            question_id = str(uuid.uuid5(uuid.UUID(pair.response_id), "question"))
            mapping[question_id] = _node(question_id, "user", pair.question, pair, children=[pair.response_id])
            mapping[pair.response_id] = _node(pair.response_id, "assistant", pair.response, pair, children=[])
            mapping[pair.response_id]["parent"] = question_id
            if index == 0:
                first_nodes[str(branch.id)] = question_id
            else:
                _link(mapping, last_node[str(branch.id)], question_id)
            last_node[str(branch.id)] = pair.response_id
    for branch in branches:
        first = first_nodes.get(str(branch.id))
        if first is None:
            continue  # an empty branch has no node to show
        if branch.parent_id is None or branch.fork_response_id is None:
            _link(mapping, root_id, first)
        else:
            _link(mapping, str(branch.fork_response_id), first)
    active = next(b for b in branches if b.id == chat.active_branch_id)
    current = last_node.get(str(active.id)) or (str(active.fork_response_id) if active.fork_response_id else root_id)
    return {
        "title": chat.title,
        "create_time": _seconds(chat.created_at),
        "update_time": _seconds(chat.updated_at),
        "mapping": mapping,
        "current_node": current,
        "conversation_id": str(chat.id),
        "id": str(chat.id),
    }


def _link(mapping, parent, child):
    mapping[parent]["children"].append(child)
    mapping[child]["parent"] = parent


def _node(node_id, role, text, pair, *, children):
    message = {
        "id": node_id,
        "author": {"role": role, "name": None, "metadata": {}},
        "create_time": _seconds(pair.timestamp),
        "update_time": None,
        "content": {"content_type": "text", "parts": [text]},
        "status": "finished_successfully",
        "end_turn": None,
        "weight": 1.0,
        "metadata": {},
        "recipient": "all",
    }
    if role == "assistant":
        message["end_turn"] = True
        if pair.model:
            message["metadata"]["model_slug"] = pair.model
        if pair.finish_reason:
            message["metadata"]["finish_details"] = {"type": FINISH_TYPES[pair.finish_reason]}
        if pair.status in ("generating", "interrupted"):
            message["status"] = "in_progress" if pair.status == "generating" else "finished_partial_completion"
            message["metadata"].setdefault("finish_details", {"type": "interrupted"})
    return {"id": node_id, "message": message, "parent": None, "children": children}
