"""The API's JSON renderer writes what DRF's would, faster."""

import datetime
import decimal
import json
import uuid

from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ErrorDetail
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict

from chatproject.api.renderers import ApiJSONRenderer

EVERY_KIND = {
    "when": datetime.datetime(2026, 12, 6, 16, 30, 53, 123000, tzinfo=datetime.UTC),
    "day": datetime.date(2026, 12, 6),
    "id": uuid.UUID("3f2b8c1e-9d4a-4e6b-8a71-2c5d9e0f1a3b"),
    "amount": decimal.Decimal("1.50"),
    "lazy": gettext_lazy("Not found."),
    "error": [ErrorDetail("This field is required.", code="required")],
    "returned": ReturnDict({"a": 1}, serializer=None),
    "numbers": [0, -1, 2.5, 10**15, None, True, False],
    "text": "ünïcødé, \"quotes\", a\nnewline and \u2028",
    7: "an integer key",
}


def test_the_renderer_writes_the_json_drf_writes():
    ours, drf = ApiJSONRenderer().render(EVERY_KIND), JSONRenderer().render(EVERY_KIND)

    assert json.loads(ours) == json.loads(drf)
    assert json.loads(ours)["when"] == "2026-12-06T16:30:53.123000Z"
    assert ours.startswith(b'{"when":"2026-12-06T16:30:53.123000Z","day":"2026-12-06",')  # compact, as DRF's


def test_nothing_renders_as_an_empty_body():
    assert ApiJSONRenderer().render(None) == b""


def test_an_indented_response_is_left_to_drf():
    media_type = "application/json; indent=4"

    ours = ApiJSONRenderer().render({"a": [1, 2]}, media_type, {})

    assert ours == JSONRenderer().render({"a": [1, 2]}, media_type, {}) == b'{\n    "a": [\n        1,\n        2\n    ]\n}'
