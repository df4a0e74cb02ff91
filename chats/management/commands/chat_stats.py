from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db.models import Count, Sum

from chats.models import Branch, Chat


class Command(BaseCommand):
    help = "Print how many users, chats (by status), branches and pairs there are, and the largest chats."

    def add_arguments(self, parser):
        parser.add_argument("--top", type=int, default=10, metavar="N", help="How many of the largest chats to list.")

    def handle(self, *args, top, **options):
        by_status = dict(Chat.objects.values_list("status").annotate(n=Count("*")))
        pairs = Branch.objects.aggregate(n=Sum("message_count"))["n"] or 0
        self.stdout.write(f"users:    {get_user_model().objects.count()}")
        self.stdout.write(
            f"chats:    {sum(by_status.values())} ("
            + ", ".join(f"{status} {by_status.get(status, 0)}" for status in ("active", "locked", "hidden"))
            + ")"
        )
        self.stdout.write(f"branches: {Branch.objects.count()}")
        self.stdout.write(f"pairs:    {pairs}")
        largest = (
            Chat.objects.select_related("owner")
            .annotate(pairs=Sum("branches__message_count"), branch_total=Count("branches"))
            .order_by("-pairs", "-updated_at")[: max(top, 0)]
        )
        if top > 0:
            self.stdout.write("largest chats (by pairs):")
            for chat in largest:
                self.stdout.write(
                    f"  {chat.pairs or 0:>8} pairs  {chat.branch_total:>4} branches  {chat.id}  "
                    f"{chat.owner.get_username()}  {chat.title!r}"
                )
