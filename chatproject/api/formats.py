"""Value formats shared by the hand-built representations of hot paths."""

import datetime


def iso_datetime(value):
    """ISO 8601 in UTC with a `Z`, as DRF's DateTimeField renders it."""
    text = value.astimezone(datetime.UTC).isoformat()
    return text[:-6] + "Z"
