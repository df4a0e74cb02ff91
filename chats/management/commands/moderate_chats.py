import uuid

from django.core.management.base import BaseCommand, CommandError

from chats import services
from chats.models import Chat
from chats.services import Moderation


class Command(BaseCommand):
    help = (
        "Lock, unlock, hide or restore chats through the moderation service the admin uses, under the "
        "same rules: locking and hiding are independent, and an action skips, with the reason, the chats "
        "it would not change."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=Moderation.values)
        parser.add_argument("chat_ids", nargs="+", metavar="CHAT_ID")
        parser.add_argument("--dry-run", action="store_true", help="Say what would change, change nothing.")

    def handle(self, *args, action, chat_ids, dry_run, **options):
        action = Moderation(action)
        try:
            ids = [uuid.UUID(value) for value in chat_ids]
        except ValueError as exc:
            raise CommandError(f"Not a chat id: {exc}") from exc
        missing = {str(i) for i in ids} - {str(i) for i in Chat.objects.filter(pk__in=ids).values_list("pk", flat=True)}
        if missing:
            raise CommandError(f"No chat with id {', '.join(sorted(missing))}; nothing changed.")
        changed = skipped = 0
        for chat_id in ids:
            if dry_run:
                result = services.chat_moderation_preview(chat_id=chat_id, action=action)
            else:
                try:
                    result = services.chat_moderate(chat_id=chat_id, action=action)
                except Chat.DoesNotExist:
                    self.stdout.write(f"  {chat_id}: deleted meanwhile")
                    continue
            if result.changed:
                changed += 1
                self.stdout.write(f"  {chat_id}: {result.status_before} → {result.status_after}")
            else:
                skipped += 1
                self.stdout.write(f"  {chat_id}: skipped, {result.reason}")
        summary = f"{action.label}: {changed}, skipped: {skipped}"
        self.stdout.write(self.style.WARNING(f"dry run: would be {summary}") if dry_run else self.style.SUCCESS(summary))
