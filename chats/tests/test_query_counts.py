"""How many SQL statements the write routes cost (Zulip's `queries_captured`
style): pinned, so that a change that adds one says so. On PostgreSQL; the
SQLite fallback takes two statements where PostgreSQL takes one."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chats import content_repository
from chats.models import Branch, Chat
from chats.tests.routes import ADD
from branches.tests.routes import CREATE_BRANCH
from search.models import SearchEntry

pytestmark = [pytest.mark.django_db, pytest.mark.requires_postgres]


def statements(client, path, body):
    client.get("/api/v1/auth/me")  # the token's user is known: authentication reads nothing
    with CaptureQueriesContext(connection) as queries:
        response = client.post(path, body, format="json")
    assert response.status_code == 201, response.content
    return [query["sql"].split(None, 1)[0] for query in queries.captured_queries]


def test_add_message_is_one_read_and_one_write(auth_client, chat):
    with CaptureQueriesContext(connection) as queries:
        sent = statements(auth_client, ADD, {"chat_id": str(chat.id), "question": "q", "response": "r"})

    # The chat with its branch (a join), then one statement that counts the
    # pair, moves the chat's activity and writes the pair's search entry.
    assert sent == ["SELECT", "WITH"]
    write = queries.captured_queries[-1]["sql"]
    tables = [model._meta.db_table for model in (Chat, Branch, SearchEntry)]
    assert [f"UPDATE {tables[0]} " in write, f"UPDATE {tables[1]} " in write, f"INSERT INTO {tables[2]}" in write] == [True] * 3


@pytest.mark.chat_pairs(3)
def test_create_branch_statements(auth_client, chat):
    last = content_repository.read_pairs_before(chat_id=chat.id, branch_id=chat.active_branch_id, limit=1)[0]

    sent = statements(
        auth_client, CREATE_BRANCH, {"chat_id": str(chat.id), "response_id": last.response_id, "question": "q", "response": "r"}
    )

    # Under the chat's row lock: the chat, the fork's branch, the names
    # taken (for "branch N"), the new branch, its first pair's search index
    # entry, the chat's activity; the
    # answer says which branch is active as the write left it, with no read
    # after. (Reading the chat with all its branches in one locked join saves
    # two statements but costs more than they do once a chat has hundreds of
    # branches: 7.8 ms instead of 4.4 in bench.)
    assert sent == ["SAVEPOINT", "SELECT", "SELECT", "SELECT", "INSERT", "INSERT", "UPDATE", "RELEASE"]
