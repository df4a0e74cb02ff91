"""What the model is asked with: the branch's path as its reader sees it,
never another branch's turns."""

from django.conf import settings

from chatproject.errors import NotFound
from chats.content_repository import FAILED, GENERATING, StoredPair
from chats.models import Branch, Chat
from chats.selectors import chat_branches, path_page


def branch_in(branches: list[Branch], branch_id) -> Branch:
    branch = next((b for b in branches if str(b.id) == str(branch_id)), None)
    if branch is None:
        raise NotFound("Branch not found in this chat.")
    return branch


def read(*, chat: Chat, pair: StoredPair, branches: list[Branch] | None = None) -> list[dict]:
    """The messages for the model to answer `pair`, just stored: read where
    it was written (`path_page(before_stored=…)`, the same code as get-chat),
    from the chat's branches when the caller has read them already."""
    if branches is None:
        branches = chat_branches(chat=chat)
    branch = branch_in(branches, pair.branch_id)
    history, _ = path_page(
        chat_id=chat.id, branches=branches, branch=branch, limit=settings.LLM_CONTEXT_PAIRS, before_stored=pair
    )
    return messages(question=pair.question, history=history)


def messages(*, question: str, history: list[dict]) -> list[dict]:
    """The system prompt, the newest pairs of `history` (a page of the
    branch's path, oldest first) that fit both LLM_CONTEXT_PAIRS and
    LLM_CONTEXT_CHARS, oldest first (failed pairs left out, interrupted ones
    with their partial text), then the question."""
    budget = settings.LLM_CONTEXT_CHARS - len(question)
    kept: list[dict] = []
    for pair in reversed(history):
        if len(kept) == settings.LLM_CONTEXT_PAIRS:
            break
        if pair["status"] in (FAILED, GENERATING):
            continue
        size = len(pair["question"]) + len(pair["response"])
        if size > budget:
            break
        budget -= size
        kept.append(pair)
    prompt = [{"role": "system", "content": settings.LLM_SYSTEM_PROMPT}] if settings.LLM_SYSTEM_PROMPT else []
    for pair in reversed(kept):
        prompt += [
            {"role": "user", "content": pair["question"]},
            {"role": "assistant", "content": pair["response"]},
        ]
    return [*prompt, {"role": "user", "content": question}]
