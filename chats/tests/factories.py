"""Chats made through the same services as the API, so both stores agree."""

import factory

from accounts.tests.factories import UserFactory
from chats import services


class ChatFactory(factory.Factory):
    """`ChatFactory(owner=user, pairs=3)`: a chat whose root holds pairs q0/r0 …"""

    class Meta:
        model = dict  # built by the service, see _create

    owner = factory.SubFactory(UserFactory)
    title = "A chat"
    pairs = 0

    @classmethod
    def _create(cls, model_class, *, owner, title, pairs):
        chat, _ = services.chat_create(user=owner, title=title)
        for i in range(pairs):
            services.message_add(user=owner, chat_id=chat.id, question=f"q{i}", response=f"r{i}")
        chat.refresh_from_db()
        return chat
