import pytest

from .factories import ChatFactory


@pytest.fixture
def chat(user):
    """A chat of `user` whose root holds three pairs."""
    return ChatFactory(owner=user, pairs=3)
