from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from chatproject.commands import parse_uuid
from chatproject.progress import progress
from chats import content_repository
from chats.models import Branch, Chat
from search import index
from search.models import SearchEntry


class Command(BaseCommand):
    help = (
        "Rebuild the search index from the content store, chat by chat: every finished pair of every "
        "branch gets its entry, written again from its content, and entries of pairs that are gone "
        "are removed. Needed after changing SEARCH_CONFIG; safe while the service runs (each chat "
        "is rebuilt under its row lock)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--chat", metavar="CHAT_ID", help="Rebuild this chat's entries only.")
        parser.add_argument("--dry-run", action="store_true", help="Say what would change, change nothing.")

    def handle(self, *args, chat, dry_run, **options):
        if not index.enabled():
            raise CommandError("The search index needs PostgreSQL; this database is not.")
        chats = Chat.objects.order_by("pk")
        if chat:
            chats = chats.filter(pk=parse_uuid(chat, "chat id"))
            if not chats.exists():
                raise CommandError(f"No chat with id {chat!r}.")
        totals = {"chats": 0, "missing": 0, "stale": 0, "orphaned": 0, "entries": 0}
        try:
            for chat_id in progress(chats.values_list("pk", flat=True).iterator(), total=chats.count(),
                                    stream=self.stderr, label="indexing chats"):
                self._rebuild(chat_id, totals, dry_run)
        except content_repository.ContentStoreUnavailable as exc:
            raise CommandError(f"MongoDB is unreachable after {totals['chats']} chats: {exc}") from exc
        self.stdout.write(
            f"chats: {totals['chats']}, entries: {totals['entries']}; missing: {totals['missing']}, "
            f"stale: {totals['stale']}, orphaned: {totals['orphaned']}"
        )
        if dry_run:
            self.stdout.write(self.style.WARNING("dry run: changed nothing"))
        else:
            self.stdout.write(self.style.SUCCESS("search index rebuilt"))

    def _rebuild(self, chat_id, totals, dry_run):
        with transaction.atomic():
            chat = Chat.objects.select_for_update().filter(pk=chat_id).first()
            if chat is None:
                return  # deleted meanwhile
            branch_ids = {str(pk) for pk in Branch.objects.filter(chat=chat).values_list("pk", flat=True)}
            entries = list(SearchEntry.objects.filter(chat=chat))
            content = content_repository.read_chat(chat_id=chat.id)
            missing, stale, orphans = index.compare(
                chat_id=chat.id, branch_ids=branch_ids, entries=entries, content=content
            )
            totals["chats"] += 1
            totals["missing"] += len(missing)
            totals["stale"] += len(stale)
            totals["orphaned"] += len(orphans)
            if dry_run:
                totals["entries"] += len(entries) + len(missing) - len(orphans)
                return
            pairs = [pair for branch_id, held in content.items() if branch_id in branch_ids for pair in held]
            totals["entries"] += index.replace_chat_entries(chat=chat, pairs=pairs)
