"""The API's representations of chats and pairs, built as plain dicts.

Hot paths render hundreds of pairs per response, where a DRF serializer per
pair costs several times more; the output serializers in `serializers.py`
describe the same shapes for the schema, and a test keeps the two in step.
"""

from chatproject.api.formats import iso_datetime


def chat_representation(chat, *, root_branch_id, branch_count):
    return {
        "chat_id": str(chat.id),
        "title": chat.title,
        "status": chat.status,
        "created_at": iso_datetime(chat.created_at),
        "updated_at": iso_datetime(chat.updated_at),
        "active_branch_id": str(chat.active_branch_id),
        "root_branch_id": str(root_branch_id),
        "branch_count": branch_count,
    }


def annotated_chat_representation(chat):
    """For chats annotated by `selectors.with_summary()`."""
    return chat_representation(chat, root_branch_id=chat.root_branch_id, branch_count=chat.branch_count)


def pair_representation(pair, *, position):
    return {
        "response_id": pair.response_id,
        "question": pair.question,
        "response": pair.response,
        "timestamp": iso_datetime(pair.timestamp),
        "branches": [str(b) for b in pair.branches],
        "branch_id": pair.branch_id,
        "position": position,
        "status": pair.status,
        "model": pair.model,
        "finish_reason": pair.finish_reason,
        "usage": pair.usage,
        "error_code": pair.error_code,
    }
