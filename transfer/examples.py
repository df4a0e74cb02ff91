"""What the API docs show of both formats: one small chat, a question
answered twice (the second answer on a branch), as each format writes it."""

CHAT_ID = "6f1c2a4e-93b5-4d7e-8a0c-2b9e5d3f7a14"
ROOT_ID = "0b8d4c1e-5a2f-4e6b-9c3d-7f1a2e8b4c60"
BRANCH_ID = "d3a9e7b2-1c4f-4a8e-b6d5-9e2c7f0a3b81"
FIRST = "a7e4c9d2-6b1f-4e3a-8d5c-0f9b2e7a1c43"
SECOND = "5e1b7c3a-9d2f-4a6e-8b0c-3f7d1e9a2c54"
AGAIN = "c2f8a4e6-1b3d-4c7a-9e5f-6d0b8a2c4e17"
QUESTION = "What should I see in Lisbon in two days?"
ANSWER = "Day one: Alfama, the castle and a tram 28 ride; day two: Belém and the LX Factory."
FOLLOW_UP = "And where do I eat pastéis de nata?"
NATA = "Manteigaria in Chiado, or the original Pastéis de Belém near the monastery."
NATA_AGAIN = "Try Manteigaria (Chiado) warm from the oven, with cinnamon."


def _pair(response_id, question, response, timestamp, model=None):
    return {
        "response_id": response_id,
        "question": question,
        "response": response,
        "timestamp": timestamp,
        "status": "complete",
        "model": model,
        "finish_reason": "stop" if model else None,
        "usage": {"prompt_tokens": 58, "completion_tokens": 19} if model else None,
        "error_code": None,
    }


NATIVE = {
    "format": "branching-chat",
    "version": 1,
    "chat": {
        "id": CHAT_ID,
        "title": "Two days in Lisbon",
        "status": "active",
        "locked": False,
        "hidden": False,
        "owner": "ada",
        "created_at": "2026-11-28T17:42:09.318Z",
        "updated_at": "2026-11-28T17:49:51.007Z",
    },
    "active_branch_id": BRANCH_ID,
    "branches": [
        {
            "id": ROOT_ID,
            "name": "main",
            "parent_id": None,
            "fork_response_id": None,
            "fork_position": 0,
            "created_at": "2026-11-28T17:42:09.318Z",
            "pairs": [
                _pair(FIRST, QUESTION, ANSWER, "2026-11-28T17:42:09.318Z"),
                _pair(SECOND, FOLLOW_UP, NATA, "2026-11-28T17:45:30.552Z", "SmolLM2-135M-Instruct"),
            ],
        },
        {
            "id": BRANCH_ID,
            "name": "branch 1",
            "parent_id": ROOT_ID,
            "fork_response_id": FIRST,
            "fork_position": 1,
            "created_at": "2026-11-28T17:49:48.190Z",
            "pairs": [_pair(AGAIN, FOLLOW_UP, NATA_AGAIN, "2026-11-28T17:49:51.007Z", "SmolLM2-135M-Instruct")],
        },
    ],
}


def _node(node_id, parent, children, role=None, text=None, time=None, model=None):
    message = None
    if role:
        message = {
            "id": node_id,
            "author": {"role": role, "name": None, "metadata": {}},
            "create_time": time,
            "content": {"content_type": "text", "parts": [text]},
            "status": "finished_successfully",
            "metadata": {"model_slug": model, "finish_details": {"type": "stop"}} if model else {},
            "recipient": "all",
        }
    return {"id": node_id, "message": message, "parent": parent, "children": children}


# The same chat as ChatGPT writes a conversation: the regenerated answer's
# question is a sibling of the first follow-up, under the first answer.
CHATGPT = [
    {
        "title": "Two days in Lisbon",
        "create_time": 1795887729.318,
        "update_time": 1795888191.007,
        "conversation_id": CHAT_ID,
        "current_node": AGAIN,
        "mapping": {
            "root": _node("root", None, ["q1"]),
            "q1": _node("q1", "root", [FIRST], "user", QUESTION, 1795887729.318),
            FIRST: _node(FIRST, "q1", ["q2", "q3"], "assistant", ANSWER, 1795887729.318),
            "q2": _node("q2", FIRST, [SECOND], "user", FOLLOW_UP, 1795887930.552),
            SECOND: _node(SECOND, "q2", [], "assistant", NATA, 1795887930.552, "SmolLM2-135M-Instruct"),
            "q3": _node("q3", FIRST, [AGAIN], "user", FOLLOW_UP, 1795888188.19),
            AGAIN: _node(AGAIN, "q3", [], "assistant", NATA_AGAIN, 1795888191.007, "SmolLM2-135M-Instruct"),
        },
    }
]

MARKDOWN = f"""# Two days in Lisbon

Branch **branch 1** · 2 pairs · active

## 1. Question

{QUESTION}

**Response** (2026-11-28T17:42:09.318Z)

{ANSWER}

## 2. Question

{FOLLOW_UP}

**Response** (2026-11-28T17:49:51.007Z)

{NATA_AGAIN}
"""

RESULT = {
    "imported": [
        {"chat_id": CHAT_ID, "title": "Two days in Lisbon", "branches": 2, "pairs": 3, "dropped_parts": 0},
    ],
    "skipped": [
        {
            "index": 1,
            "title": "Packing list",
            "code": "already_imported",
            "detail": f"[1]: imported before, as chat {ROOT_ID}",
        },
        {
            "index": 2,
            "title": "Draft",
            "code": "no_pairs",
            "detail": "[2]: the conversation holds no question",
        },
    ],
}
