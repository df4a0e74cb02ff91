"""What the routes that may answer with an event stream share with the rest
of the API: content negotiation and throttles applied from inside a view.
The streams themselves are written by `generation.streams`."""

from rest_framework.exceptions import Throttled
from rest_framework.throttling import BaseThrottle


class EventStreamNegotiationMixin:
    """Routes that may answer with an event stream: a client reading one sends
    `Accept: text/event-stream`, which DRF would answer with 406 for want of a
    renderer. Everything but the stream itself (errors included) is JSON."""

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)


def check_throttle(throttle: BaseThrottle, request, view) -> None:
    """Apply a throttle from inside a view, once the view knows it applies."""
    if not throttle.allow_request(request, view):
        raise Throttled(wait=throttle.wait())
