import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from chatproject import collector
from chatproject.progress import progress
from chats import content_repository
from transfer import chatgpt, native
from transfer.plan import ChatPlan, UnsupportedFormat
from transfer.services import import_document, read_document

FORMATS = {"json": native.FORMAT, "chatgpt": chatgpt.FORMAT}


class Command(BaseCommand):
    help = (
        "Recreate chats for the given owner, with new ids, from an export_chat JSON file (one chat: its titles, "
        "names, texts, timestamps and active branch, so that exporting the new chat gives the same tree) or "
        "from ChatGPT's conversations.json (each conversation a chat, its alternatives as branches). A "
        "conversation the owner imported before is skipped. There is no size limit here."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="A JSON file written by export_chat, or a ChatGPT conversations.json.")
        parser.add_argument("--owner", required=True, metavar="USERNAME", help="Who will own the new chats.")
        parser.add_argument(
            "--format",
            choices=["auto", *FORMATS],
            default="auto",
            help="What the file must be (default: whichever of the two it is).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Check the file and say what would be made.")

    def handle(self, *args, file, owner, format, dry_run, **options):
        try:
            with open(file, encoding="utf-8-sig") as handle:
                data = json.load(handle)
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        except ValueError as exc:
            raise CommandError(f"{file} is not JSON: {exc}") from exc
        user = get_user_model().objects.filter(username=owner).first()
        if user is None:
            raise CommandError(f"No user named {owner!r}.")
        try:
            found, conversations = read_document(data)
        except UnsupportedFormat as exc:
            raise CommandError(f"{file}: {exc}") from exc
        if format != "auto" and FORMATS[format] != found:
            raise CommandError(f"{file} is a {found} file, not {format}.")
        if dry_run:
            for _, title, plan in conversations:
                if isinstance(plan, ChatPlan):
                    self.stdout.write(self.style.WARNING(f"dry run: would import {plan.title!r}: {_summary(plan, owner)}"))
                else:
                    self.stdout.write(f"dry run: would skip {title!r}: {plan.code}: {plan.detail}")
            return
        try:
            with collector.paused():  # see chatproject/collector.py
                result = import_document(
                    data,
                    owner=user,
                    keep_hidden=True,
                    progress=lambda items, total: progress(items, total=total, stream=self.stderr, label="conversations imported"),
                )
        except content_repository.ContentStoreUnavailable as exc:
            raise CommandError(f"MongoDB is unreachable: {exc} (chats imported before this stay; run again to import the rest)") from exc
        for chat in result.imported:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Imported chat {chat['chat_id']}: {chat['branches']} branches, {chat['pairs']} pairs, for {owner}"
                    + (f", {chat['dropped_parts']} non-text parts left out." if chat["dropped_parts"] else ".")
                )
            )
        for skip in result.skipped:
            self.stdout.write(self.style.WARNING(f"Skipped {skip['title']!r}: {skip['code']}: {skip['detail']}"))
        self.stdout.write(f"imported: {len(result.imported)}, skipped: {len(result.skipped)}")


def _summary(plan, owner):
    return f"{len(plan.branches)} branches, {plan.pair_count} pairs, for {owner}"
