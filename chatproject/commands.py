"""Small helpers shared by the management commands."""

import uuid

from django.core.management.base import CommandError


def parse_uuid(value, what="id"):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise CommandError(f"{what} {value!r} is not a UUID.") from None
