"""The hand-built representations and the serializers that document them
name the same fields."""

import datetime

from chats.content_repository import StoredPair
from chats.models import Chat
from chats.representations import chat_representation, pair_representation
from chats.serializers import ChatOutputSerializer, PairOutputSerializer

NOW = datetime.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.UTC)


def test_chat_representation_matches_its_schema():
    chat = Chat(title="t", status="active", created_at=NOW, updated_at=NOW)

    body = chat_representation(chat, root_branch_id="r", branch_count=1)

    assert list(body) == list(ChatOutputSerializer().fields)
    assert body["created_at"] == "2026-01-02T03:04:05.678000Z"


def test_pair_representation_matches_its_schema():
    pair = StoredPair(
        branch_id="b", index=0, response_id="x", question="q", response="r", timestamp=NOW, branches=[]
    )

    assert list(pair_representation(pair, position=0)) == list(PairOutputSerializer().fields)
