"""Content negotiation that remembers its answers.

DRF parses the `Accept` header and matches it against the view's renderers
on every request (about 50 µs here, a tenth of a small response), though
clients send a handful of distinct headers, most none at all. The choice
depends only on the header, the format asked for and the renderers' classes,
so it is kept per process for the first few hundred such combinations; any
other is negotiated as DRF does, every time, so a client inventing headers
cannot grow the process."""

from rest_framework.negotiation import DefaultContentNegotiation

MAX_REMEMBERED = 256
MAX_REMEMBERED_HEADER = 256

_choices = {}


class RememberingContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        accept = request.META.get("HTTP_ACCEPT")
        format = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        key = (accept, format, tuple(type(renderer) for renderer in renderers))
        choice = _choices.get(key)
        if choice is not None:
            index, media_type = choice
            return renderers[index], media_type
        # A refusal (406, 404 for an unknown format) raises here, and is not kept.
        renderer, media_type = super().select_renderer(request, renderers, format_suffix)
        if len(_choices) < MAX_REMEMBERED and len(accept or "") <= MAX_REMEMBERED_HEADER:
            index = next(i for i, candidate in enumerate(renderers) if candidate is renderer)
            _choices[key] = (index, media_type)
        return renderer, media_type
