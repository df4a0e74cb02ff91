from django.core.management.base import BaseCommand, CommandError

from chatproject.commands import parse_uuid
from chatproject.progress import progress
from chats import content_repository
from chats.models import Chat
from transfer.exports import FORMATS, export_document


class Command(BaseCommand):
    help = (
        "Export a chat: as JSON, its whole tree (every branch with its fork point and pairs, and the active "
        "branch; see transfer/native.py for the format), which import_chat reads back; as chatgpt, the same "
        "tree as one conversation of ChatGPT's conversations.json; as Markdown, the active branch's path, "
        "for reading."
    )

    def add_arguments(self, parser):
        parser.add_argument("chat_id", help="The chat to export (any owner, any status).")
        parser.add_argument("--format", choices=FORMATS, default="json")
        parser.add_argument("--output", metavar="FILE", help="Write here instead of standard output.")

    def handle(self, *args, chat_id, format, output, **options):
        chat = Chat.objects.select_related("owner").filter(pk=parse_uuid(chat_id, "chat id")).first()
        if chat is None:
            raise CommandError(f"No chat with id {chat_id!r}.")
        # Progress goes to stderr: stdout may be the export itself.
        walk = lambda items, total: progress(items, total=total, stream=self.stderr, label="branches exported")  # noqa: E731
        try:
            text = export_document(chat, format, progress=walk).text
        except content_repository.ContentStoreUnavailable as exc:
            raise CommandError(f"MongoDB is unreachable: {exc}") from exc
        if output:
            try:
                with open(output, "w", encoding="utf-8") as file:
                    file.write(text)
            except OSError as exc:
                raise CommandError(f"Cannot write {output}: {exc}") from exc
            self.stderr.write(self.style.SUCCESS(f"Exported chat {chat.id} ({format}) to {output}."))
        else:
            self.stdout.write(text, ending="")
