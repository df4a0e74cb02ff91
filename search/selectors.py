"""search-messages: the user's finished pairs that match a web-search query,
best first, newest first among equals, a keyset page at a time.

Two queries: the page of matching entries, ranked (the per-user GIN index
finds them), then the headlines of that page only, whose marks give each
field's snippet and `highlights` and tell which fields matched.
"""

import base64
import binascii
import datetime
import json
import re
import uuid

from django.conf import settings
from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db import connection
from django.db.models import F, FloatField, Q, Value
from django.db.models.functions import Cast, Replace

from accounts.models import User
from chatproject.api.formats import iso_datetime
from chatproject.errors import InvalidCursor, NoSearchTerms, SearchUnavailable
from chats.selectors import chat_get

from .models import SearchEntry

# Marks around each match in a headline; taken out of the texts first, so a
# text holding them cannot fake a match. Private-use code points.
START, STOP = "\ue000", "\ue001"
SNIPPET_CHARS = 200
FIELDS = ("question", "response")


def search_messages(*, user: User, q: str, chat_id: uuid.UUID | None = None, cursor: str | None = None, page_size: int) -> dict:
    """{"results": [...], "next_cursor": str or None}."""
    if chat_id is not None:
        chat_get(user=user, chat_id=chat_id)  # 404 for a chat that is not the caller's, or hidden
    if connection.vendor != "postgresql":
        raise SearchUnavailable()
    config = settings.SEARCH_CONFIG
    query = SearchQuery(q, search_type="websearch", config=config)
    _require_terms(q, config)
    entries = SearchEntry.objects.filter(owner=user, chat__hidden=False, vector=query)
    if chat_id is not None:
        entries = entries.filter(chat_id=chat_id)
    # As double precision: ts_rank's real, read as text, would not compare
    # equal to itself once back in a cursor.
    entries = entries.annotate(rank=Cast(SearchRank(F("vector"), query), FloatField()))
    if cursor:
        rank, timestamp, entry_id = _decode(cursor)
        entries = entries.filter(
            Q(rank__lt=rank) | Q(rank=rank, timestamp__lt=timestamp) | Q(rank=rank, timestamp=timestamp, id__lt=entry_id)
        )
    page = list(entries.order_by("-rank", "-timestamp", "-id").values("id", "rank", "timestamp")[: page_size + 1])
    more, page = len(page) > page_size, page[:page_size]
    shown = _with_headlines([row["id"] for row in page], query, config)
    # An entry gone since the first query (its branch deleted) is left out.
    results = [_result(shown[row["id"]]) for row in page if row["id"] in shown]
    last = page[-1] if more else None
    return {"results": results, "next_cursor": _encode(last["rank"], last["timestamp"], last["id"]) if last else None}


def _require_terms(q, config):
    """A query that can use no index (only stop words, or only exclusions)
    would match nothing, or scan every entry: refused."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT querytree(websearch_to_tsquery(%s::regconfig, %s))", [config, q])
        tree = cursor.fetchone()[0]
    if tree in ("", "T"):
        raise NoSearchTerms()


def _with_headlines(ids, query, config):
    def headline(field):
        text = Replace(Replace(F(field), Value(START), Value("")), Value(STOP), Value(""))
        return SearchHeadline(text, query, config=config, start_sel=START, stop_sel=STOP, max_words=50, min_words=25)

    rows = (
        SearchEntry.objects.filter(id__in=ids)
        .select_related("chat", "branch")
        .annotate(question_headline=headline("question"), response_headline=headline("response"))
    )
    return {row.id: row for row in rows}


def _result(entry) -> dict:
    snippets = {}
    for field in FIELDS:
        snippet = snippet_of(getattr(entry, f"{field}_headline"), getattr(entry, field))
        if snippet["highlights"]:
            snippets[field] = snippet
    return {
        "chat_id": str(entry.chat_id),
        "chat_title": entry.chat.title,
        "branch_id": str(entry.branch_id),
        "branch_name": entry.branch.name,
        "response_id": str(entry.response_id),
        "position": entry.branch.fork_position + entry.index,
        "status": entry.status,
        "timestamp": iso_datetime(entry.timestamp),
        "matched": list(snippets),
        "snippet": snippets,
    }


def snippet_of(headline: str, text: str, width: int = SNIPPET_CHARS) -> dict:
    """Plain text of about `width` characters of `text` around the first
    match, and the matches as [start, end) code-point offsets into it.

    ts_headline says which words matched (its marks) but rewrites the text
    around them (it drops what its parser takes for markup, `<b>` included),
    so the snippet is cut from the text as stored, the marked words found
    again in it."""
    words = sorted({word for word in _marked(headline) if word.strip()}, key=len, reverse=True)
    if not words:
        return {"text": text[:width].rstrip(), "highlights": []}
    pattern = re.compile("|".join(rf"(?<!\w){re.escape(word)}(?!\w)" for word in words))
    matches = [m.span() for m in pattern.finditer(text)]
    if not matches:
        return {"text": text[:width].rstrip(), "highlights": []}
    if len(text) <= width:
        return {"text": text, "highlights": [list(span) for span in matches]}
    # A window around the first match, cut at spaces, marked with ellipses.
    first, first_end = matches[0]
    begin = max(0, min(first - width // 4, len(text) - width))
    if begin > 0:
        space = text.find(" ", begin)
        begin = space + 1 if 0 <= space < first else begin
    end = min(len(text), begin + width)
    if end < len(text):
        space = text.rfind(" ", begin, end)
        end = space if space > first_end else end
    prefix, suffix = ("… " if begin > 0 else ""), (" …" if end < len(text) else "")
    shift = len(prefix) - begin
    window = [[s + shift, e + shift] for s, e in matches if s >= begin and e <= end]
    return {"text": prefix + text[begin:end] + suffix, "highlights": window}


def _marked(headline):
    """The words between the marks of a headline."""
    inside, word = False, []
    for char in headline:
        if char == START:
            inside, word = True, []
        elif char == STOP:
            if inside:
                yield "".join(word)
            inside = False
        elif inside:
            word.append(char)


def _encode(rank: float, timestamp: datetime.datetime, entry_id: int) -> str:
    raw = json.dumps([rank, timestamp.isoformat(), entry_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str):
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        rank, timestamp, entry_id = json.loads(raw)
        timestamp = datetime.datetime.fromisoformat(timestamp)
        if not isinstance(rank, float | int) or not isinstance(entry_id, int) or timestamp.tzinfo is None:
            raise ValueError(cursor)
        return float(rank), timestamp, entry_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor() from None
