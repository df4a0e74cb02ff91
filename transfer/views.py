"""export-chat and import-chats: parse, call the exports or the import
service, render."""

import json

from django.conf import settings
from django.http import HttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from chatproject import collector
from chatproject.api.openapi import IDS_IN_BODY_NOTES, errors
from chatproject.api.params import validated
from chatproject.api.parsers import MULTIPART_ENVELOPE_BYTES, ImportJSONParser
from chatproject.errors import PayloadTooLarge, TooManyConversations, UnsupportedFormat
from chats.selectors import chat_get

from . import examples, plan, services
from .exports import export_document
from .serializers import ExportQuerySerializer, ImportFileSerializer, ImportResultSerializer


# Our export is an object; ChatGPT's conversations.json an array of them
# (one conversation object alone is imported too).
EITHER_FORMAT = {
    "oneOf": [
        {"type": "object", "additionalProperties": True, "description": "Our `json` export, or one ChatGPT conversation."},
        {"type": "array", "items": {"type": "object", "additionalProperties": True}, "description": "A ChatGPT conversations.json."},
    ]
}


class FormatIsAParameter(DefaultContentNegotiation):
    """`?format=` is export-chat's own parameter, not DRF's renderer
    override (which would answer 404 for `chatgpt` and `markdown`)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class TransferViewSet(viewsets.GenericViewSet):
    content_negotiation_class = FormatIsAParameter

    @extend_schema(
        operation_id="chats_export_chat",
        tags=["chats"],
        summary="Download a chat",
        description=(
            "The chat as a file (`Content-Disposition: attachment`). `json`: the whole tree, every branch "
            "with its fork point and pairs and the active branch, which import-chats reads back. `chatgpt`: "
            "the same tree in the shape of ChatGPT's `conversations.json` (an array of one conversation): a "
            "`mapping` of nodes, a user node per question and an assistant node per answer (with "
            "`metadata.model_slug` when generated), each branch's first question a sibling of what follows "
            "its fork point, `current_node` the end of the active branch. `markdown`: the active branch's "
            "path, for reading. An empty branch has no node in `chatgpt`."
        ),
        parameters=[ExportQuerySerializer],
        responses={
            (200, "application/json"): OpenApiResponse(
                EITHER_FORMAT,
                description="`json` or `chatgpt`.",
                examples=[
                    OpenApiExample("format=json", value=examples.NATIVE, response_only=True),
                    OpenApiExample("format=chatgpt", value=examples.CHATGPT, response_only=True),
                ],
            ),
            (200, "text/markdown"): OpenApiResponse(
                OpenApiTypes.STR,
                description="`markdown`.",
                examples=[OpenApiExample("format=markdown", value=examples.MARKDOWN, response_only=True)],
            ),
            **errors(
                400, 401, 404, 405, 413, 415, 429, 503,
                method="GET",
                invalid=("format", "invalid_choice", '"pdf" is not a valid choice.'),
                notes=IDS_IN_BODY_NOTES,
            ),
        },
    )
    @action(detail=False, methods=["get"], url_path="export-chat")
    def export_chat(self, request):
        data = validated(ExportQuerySerializer, request)
        chat = chat_get(user=request.user, chat_id=data["chat_id"])
        export = export_document(chat, data["format"])
        response = HttpResponse(export.text.encode("utf-8"), content_type=export.content_type)
        response["Content-Disposition"] = content_disposition_header(True, export.filename)
        response["Cache-Control"] = "private, no-store"
        return response

    @extend_schema(
        operation_id="chats_import_chats",
        tags=["chats"],
        summary="Import chats",
        description=(
            "Makes chats of yours from a file: a JSON body, or a multipart `file`, of at most "
            "`IMPORT_MAX_BYTES` (20 MiB by default). Either our `json` export (one chat, its tree as it was; "
            "a moderator's lock comes with it) or a ChatGPT `conversations.json` (an array of at most "
            "`IMPORT_MAX_CONVERSATIONS` conversations, 1,000 by default; one conversation object is taken "
            "too). Each conversation becomes a chat whose branches follow its tree: system, hidden and tool "
            "messages are dropped; a question and the answer after it are a pair; several answers to one "
            "question, or several questions after one answer, open branches there; the path to "
            "`current_node` is the active branch; a cut answer is `interrupted`; parts that are not text are "
            "left out and counted (`dropped_parts`). A conversation that cannot be imported is skipped with "
            "its code (`cycle`, `missing_parent`, `several_roots`, `no_pairs`, `too_large`; "
            "`already_imported` for one you imported before) and the others are imported. Nothing is "
            "half-imported: each chat is written whole or not at all."
        ),
        request={
            "application/json": EITHER_FORMAT,
            "multipart/form-data": ImportFileSerializer,
        },
        examples=[
            OpenApiExample("Our json export", value=examples.NATIVE, request_only=True),
            OpenApiExample("A ChatGPT conversations.json", value=examples.CHATGPT, request_only=True),
        ],
        responses={
            201: OpenApiResponse(
                ImportResultSerializer,
                examples=[OpenApiExample("Imported and skipped", value=examples.RESULT, response_only=True)],
            ),
            **errors(
                400, 401, 405, 413, 415, 429, 503,
                invalid=(None, "unsupported_format", "[0].mapping: a conversation is an object with a `mapping` object"),
                notes={
                    400: "`unsupported_format`: neither format, saying where; `too_many_conversations`.",
                    413: "Here: over `IMPORT_MAX_BYTES`.",
                    415: "Here: neither JSON nor multipart.",
                },
            ),
        },
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import-chats",
        parser_classes=[ImportJSONParser, MultiPartParser],
    )
    def import_chats(self, request):
        limit = settings.IMPORT_MAX_BYTES
        if _declared_length(request) > limit + MULTIPART_ENVELOPE_BYTES:
            raise PayloadTooLarge(limit=limit)
        # A file of thousands of pairs: see chatproject/collector.py.
        with collector.paused():
            document = _document(request, limit)
            try:
                result = services.import_document(
                    document,
                    owner=request.user,
                    keep_hidden=False,
                    max_conversations=settings.IMPORT_MAX_CONVERSATIONS,
                )
            except plan.UnsupportedFormat as exc:
                raise UnsupportedFormat(str(exc)) from None
            except services.TooManyConversations as exc:
                raise TooManyConversations(str(exc)) from None
            del document
        body = {
            "imported": [{**chat, "chat_id": str(chat["chat_id"])} for chat in result.imported],
            "skipped": result.skipped,
        }
        return Response(body, status=status.HTTP_201_CREATED)


def _declared_length(request):
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # read within the limit anyway


def _document(request, limit):
    """The parsed document of a JSON body or of a multipart `file`."""
    parser = request.negotiator.select_parser(request, request.parsers)
    if parser is None:
        raise UnsupportedMediaType(request.content_type)
    if isinstance(parser, ImportJSONParser):
        # Parsed here from the stream: DRF's own JSON parsing reads
        # `request.body`, which Django caps at DATA_UPLOAD_MAX_MEMORY_SIZE.
        if request.stream is None:
            return {}
        try:
            return parser.parse(request.stream, request.content_type, request.parser_context)
        except ParseError as exc:
            raise UnsupportedFormat(f"The body is not JSON: {exc.detail}") from None
    upload = request.data.get("file")  # multipart, the only other parser
    if upload is None or isinstance(upload, str):
        raise UnsupportedFormat("A multipart import needs its file in the field `file`.")
    if upload.size > limit:
        raise PayloadTooLarge(limit=limit)
    try:
        return json.loads(upload.read())
    except (ValueError, RecursionError) as exc:
        raise UnsupportedFormat(f"The file is not JSON: {exc}") from None
