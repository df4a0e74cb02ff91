from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Sum
from django.utils import timezone

from chatproject.errors import NotFound
from chatproject.progress import progress
from chats import content_repository, services
from chats.models import Chat, ChatStatus


class Command(BaseCommand):
    help = (
        "Delete chats, with their branches and content, through the same service as the API. Select them by "
        "--owner, --older-than DAYS of inactivity and/or --status (at least one)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--owner", metavar="USERNAME")
        parser.add_argument("--older-than", type=int, metavar="DAYS", help="No activity for this many days.")
        parser.add_argument("--status", choices=ChatStatus.values)
        parser.add_argument("--dry-run", action="store_true", help="Say what would be deleted, delete nothing.")

    def handle(self, *args, owner, older_than, status, dry_run, **options):
        if owner is None and older_than is None and status is None:
            raise CommandError("Give at least one of --owner, --older-than, --status.")
        chats = Chat.objects.all()
        if owner is not None:
            user = get_user_model().objects.filter(username=owner).first()
            if user is None:
                raise CommandError(f"No user named {owner!r}.")
            chats = chats.filter(owner=user)
        if older_than is not None:
            if older_than < 0:
                raise CommandError("--older-than takes a number of days, 0 or more.")
            chats = chats.filter(updated_at__lt=timezone.now() - timedelta(days=older_than))
        if status is not None:
            chats = chats.filter(status=status)
        total = chats.count()
        pairs = chats.aggregate(n=Sum("branches__message_count"))["n"] or 0
        if dry_run:
            self.stdout.write(self.style.WARNING(f"dry run: would delete {total} chats ({pairs} pairs)"))
            for chat in chats.order_by("updated_at")[:20]:
                self.stdout.write(f"  {chat.id}  {chat.updated_at:%Y-%m-%d}  {chat.status}  {chat.title!r}")
            return
        deleted = 0
        for chat in progress(chats.order_by("pk").iterator(), total=total, stream=self.stderr, label="deleting"):
            try:
                services.chat_delete(chat=chat)
            except NotFound:
                continue  # deleted by its owner meanwhile
            except content_repository.ContentStoreUnavailable as exc:
                raise CommandError(f"MongoDB became unreachable after deleting {deleted} chats: {exc}") from exc
            deleted += 1
        self.stdout.write(self.style.SUCCESS(f"deleted {deleted} chats ({pairs} pairs)"))
