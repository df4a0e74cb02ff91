"""The API's representation of a branch."""

from chatproject.api.formats import iso_datetime


def branch_representation(branch, *, active_branch_id):
    return {
        "branch_id": str(branch.id),
        "chat_id": str(branch.chat_id),
        "name": branch.name,
        "parent_branch_id": None if branch.parent_id is None else str(branch.parent_id),
        "fork_response_id": None if branch.fork_response_id is None else str(branch.fork_response_id),
        "fork_position": branch.fork_position,
        "message_count": branch.message_count,
        "created_at": iso_datetime(branch.created_at),
        "is_active": branch.id == active_branch_id,
        "is_root": branch.parent_id is None,
    }
