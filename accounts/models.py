import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A person using the API, a moderator or an operator.

    A UUID key, like every other id the API shows, so ids reveal nothing about
    how many users there are.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)

    class Meta(AbstractUser.Meta):
        db_table = "users"
        swappable = "AUTH_USER_MODEL"
