import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from branches.transfer import InvalidExport, PartialImport, import_tree, validate_export
from chatproject.progress import progress
from chats import content_repository


class Command(BaseCommand):
    help = (
        "Recreate a chat from an export_chat JSON file for the given owner, with new ids, keeping titles, "
        "names, texts, timestamps and the active branch: exporting the new chat gives the same tree."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="A JSON file written by export_chat.")
        parser.add_argument("--owner", required=True, metavar="USERNAME", help="Who will own the new chat.")
        parser.add_argument("--dry-run", action="store_true", help="Check the file and say what would be made.")

    def handle(self, *args, file, owner, dry_run, **options):
        try:
            with open(file, encoding="utf-8") as handle:
                data = json.load(handle)
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        except ValueError as exc:
            raise CommandError(f"{file} is not JSON: {exc}") from exc
        user = get_user_model().objects.filter(username=owner).first()
        if user is None:
            raise CommandError(f"No user named {owner!r}.")
        try:
            pairs = validate_export(data)
        except InvalidExport as exc:
            raise CommandError(f"{file}: {exc}") from exc
        summary = f"{len(data['branches'])} branches, {pairs} pairs, for {owner}"
        if dry_run:
            self.stdout.write(self.style.WARNING(f"dry run: would import {data['chat']['title']!r}: {summary}"))
            return
        try:
            chat = import_tree(
                data,
                owner=user,
                progress=lambda items, total: progress(items, total=total, stream=self.stderr, label="branches imported"),
            )
        except PartialImport as exc:
            raise CommandError(f"{exc} (cause: {exc.__cause__})") from exc
        except content_repository.ContentStoreUnavailable as exc:
            raise CommandError(f"MongoDB is unreachable, nothing imported: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"Imported chat {chat.id}: {summary}."))
