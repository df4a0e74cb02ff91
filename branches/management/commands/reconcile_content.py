from django.core.management.base import BaseCommand, CommandError

from branches.reconcile import KINDS, check_chat, orphan_chats
from chatproject.commands import parse_uuid
from chatproject.progress import progress
from chats import content_repository
from chats.models import Chat


class Command(BaseCommand):
    help = (
        "Find what PostgreSQL and MongoDB disagree on — "
        + "; ".join(KINDS.values())
        + " — and with --fix repair it, so that a second run finds nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="Repair every problem found.")
        parser.add_argument("--dry-run", action="store_true", help="With --fix: say what would be repaired, change nothing.")
        parser.add_argument("--chat", metavar="CHAT_ID", help="Check this chat only.")

    def handle(self, *args, fix, dry_run, chat, **options):
        try:
            problems = self._find(chat)
        except content_repository.ContentStoreUnavailable as exc:
            raise CommandError(f"MongoDB is unreachable: {exc}") from exc
        for problem in problems:
            self.stdout.write(str(problem))
        counts = {}
        for problem in problems:
            counts[problem.kind] = counts.get(problem.kind, 0) + 1
        for kind, count in sorted(counts.items()):
            self.stdout.write(f"  {KINDS[kind]}: {count}")
        self.stdout.write(f"problems found: {len(problems)}")
        if not fix:
            return
        if dry_run:
            self.stdout.write(self.style.WARNING(f"dry run: would repair {len(problems)}, changed nothing"))
            return
        repaired = 0
        for problem in progress(problems, total=len(problems), stdout=self.stdout, label="repairing"):
            try:
                problem.repair()
            except content_repository.ContentStoreUnavailable as exc:
                raise CommandError(f"MongoDB became unreachable after {repaired} repairs: {exc}") from exc
            repaired += 1
        self.stdout.write(self.style.SUCCESS(f"repaired: {repaired}"))

    def _find(self, chat_id):
        if chat_id:
            chat = Chat.objects.filter(pk=parse_uuid(chat_id, "chat id")).first()
            if chat is None:
                raise CommandError(f"No chat with id {chat_id!r}.")
            return check_chat(chat)
        problems = orphan_chats()
        chats = Chat.objects.order_by("pk")
        for chat in progress(chats.iterator(), total=chats.count(), stdout=self.stdout, label="checking chats"):
            problems.extend(check_chat(chat))
        return problems

