"""A chat to be imported, as both formats describe it once read: branches
(root first, parents before children), each with its own pairs and the pair
of its parent it forks after. `services.chat_import` writes a plan; the
format modules make one (`native` from our export, `chatgpt` from a
ChatGPT conversation), and `branches_from_pair_tree` turns a tree of pairs
into branches for formats that know no branches.
"""

import dataclasses
import datetime
import hashlib

from django.conf import settings

ROOT_BRANCH_NAME = "main"
# The text of a question or answer that had only parts that are not text
# (an image, a file): the pair stays, so its place in the tree does.
TEXT_LEFT_OUT = "[non-text content left out]"


class Skip(Exception):
    """One conversation of a document cannot be imported; the others can.
    `code` is stable (`cycle`, `missing_parent`, `several_roots`, `no_pairs`,
    `too_large`, `already_imported`), `detail` says where."""

    def __init__(self, code, detail):
        super().__init__(detail)
        self.code = code
        self.detail = detail


class UnsupportedFormat(ValueError):
    """The document is neither of the formats (400 `unsupported_format`)."""


@dataclasses.dataclass
class PlannedPair:
    question: str
    response: str
    timestamp: datetime.datetime
    # As `content_repository.append_pair` takes it; None for a response the
    # client supplied.
    generation: dict | None = None


@dataclasses.dataclass
class PlannedBranch:
    name: str
    created_at: datetime.datetime
    pairs: list[PlannedPair] = dataclasses.field(default_factory=list)
    # Index of the parent in `ChatPlan.branches` (None: the root), and of the
    # parent's own pair this branch forks after (None: before the first pair,
    # only from the root).
    parent: int | None = None
    fork: int | None = None


@dataclasses.dataclass
class ChatPlan:
    title: str
    created_at: datetime.datetime
    updated_at: datetime.datetime
    branches: list[PlannedBranch]
    active: int = 0
    locked: bool = False
    hidden: bool = False
    # "<format>:<id>" of the conversation, when the document names one.
    source: str | None = None
    dropped_parts: int = 0

    @property
    def pair_count(self):
        return sum(len(branch.pairs) for branch in self.branches)


def checked_text(text, what, where):
    """Text as stored: valid UTF-8 (a lone surrogate, which JSON allows,
    becomes U+FFFD), no NUL, within the limit, else Skip `too_large`."""
    text = storable(text)
    if len(text) > settings.MAX_MESSAGE_CHARS:
        raise Skip("too_large", f"{where}: the {what} has {len(text)} characters, more than {settings.MAX_MESSAGE_CHARS}")
    return text


def storable(text):
    """`text` as both stores take it: no NUL, and a lone surrogate (which
    JSON's \\ud800 escapes allow) replaced by U+FFFD."""
    text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


def source_id(text):
    """A conversation's id as kept to recognise it (`Chat.imported_from`):
    as it is, or a digest of it when it is long."""
    text = storable(text)
    if len(text) <= 200:
        return text
    return "sha256-" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def checked_title(title):
    title = storable(title or "").strip()
    return title[: settings.MAX_TITLE_CHARS].strip() if title else ""


def branches_from_pair_tree(*, top: list, children: dict, pairs: dict, created_at, active_pair=None):
    """Branches for a tree of pairs: `top` the keys of the pairs with no pair
    before them, `children[key]` the keys of the pairs that follow one (in the
    document's order), `pairs[key]` the PlannedPair. The first follower
    continues a branch; each other follower opens a branch forking after it
    (a second first pair: a branch of the root before its first pair). The
    active pair ends its branch, every follower opening one of its own, so
    that the active branch's path ends where the document's path shown
    does. Returns (branches, index of the branch holding `active_pair`, or 0)."""
    branches = [PlannedBranch(name=ROOT_BRANCH_NAME, created_at=created_at)]
    holder = {}
    # (first pair key, parent branch index, fork index or None), in order.
    waiting = [(key, 0, None) for key in top[1:]]
    starts = [(top[0], 0)] if top else []
    while starts or waiting:
        if not starts:
            key, parent, fork = waiting.pop(0)
            branches.append(
                PlannedBranch(name=f"branch {len(branches)}", created_at=created_at, parent=parent, fork=fork)
            )
            starts.append((key, len(branches) - 1))
        key, index = starts.pop()
        branch = branches[index]
        # Iterative: a conversation of 10,000 pairs is a chain 10,000 deep.
        while key is not None:
            branch.pairs.append(pairs[key])
            holder[key] = index
            following = children.get(key, [])
            ends_here = key == active_pair
            for other in following if ends_here else following[1:]:
                waiting.append((other, index, len(branch.pairs) - 1))
            key = following[0] if following and not ends_here else None
    return branches, holder.get(active_pair, 0)
