"""Content negotiation gives DRF's answer, asked once or many times, and keeps
only a bounded number of them."""

import pytest
from django.http import Http404
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from chatproject.api import negotiation
from chatproject.api.negotiation import RememberingContentNegotiation
from chatproject.api.renderers import ApiJSONRenderer


@pytest.fixture(autouse=True)
def nothing_remembered(monkeypatch):
    monkeypatch.setattr(negotiation, "_choices", {})


def request(path="/api/v1/x", accept=None):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    return Request(APIRequestFactory().get(path, **headers))


def renderers():
    return [ApiJSONRenderer(), BrowsableAPIRenderer()]


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/api/v1/x", None),
        ("/api/v1/x", "*/*"),
        ("/api/v1/x", "text/html"),
        ("/api/v1/x", "application/json; indent=4"),
        ("/api/v1/x", "text/html;q=0.5, application/json"),
        ("/api/v1/x?format=api", None),
    ],
)
def test_the_choice_is_drfs_the_first_time_and_after(path, accept):
    expected_renderers = renderers()
    renderer, media_type = DefaultContentNegotiation().select_renderer(request(path, accept), expected_renderers)
    expected = (expected_renderers.index(renderer), media_type)

    for _ in range(2):
        offered = renderers()
        chosen, chosen_media_type = RememberingContentNegotiation().select_renderer(request(path, accept), offered)
        assert (offered.index(chosen), chosen_media_type) == expected
        assert any(chosen is candidate for candidate in offered)  # this request's own instance


def test_the_same_header_with_other_renderers_is_negotiated_again():
    RememberingContentNegotiation().select_renderer(request(accept="text/html"), renderers())

    with pytest.raises(NotAcceptable):
        RememberingContentNegotiation().select_renderer(request(accept="text/html"), [JSONRenderer()])


def test_a_refusal_is_not_remembered_and_headers_beyond_the_bound_are_not_kept(monkeypatch):
    monkeypatch.setattr(negotiation, "MAX_REMEMBERED", 3)
    for _ in range(2):
        with pytest.raises(NotAcceptable):
            RememberingContentNegotiation().select_renderer(request(accept="image/png"), [JSONRenderer()])
    RememberingContentNegotiation().select_renderer(request(accept="*/*, " + "x" * 300), renderers())
    for index in range(10):
        RememberingContentNegotiation().select_renderer(request(accept=f"application/json; v={index}"), renderers())

    assert [key[0] for key in negotiation._choices] == [f"application/json; v={index}" for index in range(3)]


def test_a_format_asked_for_is_negotiated_for_itself_not_taken_from_the_same_header_without_it():
    plain, _ = RememberingContentNegotiation().select_renderer(request(accept="*/*"), renderers())
    browsable, _ = RememberingContentNegotiation().select_renderer(request("/api/v1/x?format=api", "*/*"), renderers())

    assert isinstance(plain, ApiJSONRenderer)
    assert isinstance(browsable, BrowsableAPIRenderer)
    with pytest.raises(Http404):
        RememberingContentNegotiation().select_renderer(request("/api/v1/x?format=xml", "*/*"), renderers())
