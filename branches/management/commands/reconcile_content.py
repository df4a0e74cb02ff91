from django.core.management.base import BaseCommand, CommandError

from branches.reconcile import KINDS, check_chat, orphan_chats, repair_chat
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
        parser.add_argument(
            "--grace",
            type=int,
            default=60,
            metavar="SECONDS",
            help="Leave alone content written this recently: it may belong to a write still in flight (default 60).",
        )

    def handle(self, *args, fix, dry_run, chat, grace, **options):
        if grace < 0:
            raise CommandError("--grace takes a number of seconds, 0 or more.")
        self.grace = grace
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
        # Each chat is checked again under its row lock and repaired from that
        # second look, so a write that finished meanwhile is never "repaired".
        repaired = 0
        orphans = [p for p in problems if p.kind == "orphan_chat_content"]
        chat_ids = sorted({p.chat_id for p in problems} - {p.chat_id for p in orphans})
        try:
            for problem in orphans:
                problem.repair()
                repaired += 1
            for chat_id in progress(chat_ids, total=len(chat_ids), stream=self.stderr, label="repairing chats"):
                repaired += repair_chat(chat_id=chat_id, grace=self.grace)
        except content_repository.ContentStoreUnavailable as exc:
            raise CommandError(f"MongoDB became unreachable after {repaired} repairs: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"repaired: {repaired}"))

    def _find(self, chat_id):
        if chat_id:
            chat = Chat.objects.filter(pk=parse_uuid(chat_id, "chat id")).first()
            if chat is None:
                raise CommandError(f"No chat with id {chat_id!r}.")
            return check_chat(chat=chat, grace=self.grace)
        problems = orphan_chats(grace=self.grace)
        chats = Chat.objects.order_by("pk")
        for chat in progress(chats.iterator(), total=chats.count(), stream=self.stderr, label="checking chats"):
            problems.extend(check_chat(chat=chat, grace=self.grace))
        return problems

