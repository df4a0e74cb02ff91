from django.core.management.base import BaseCommand, CommandError

from chats import content_repository


class Command(BaseCommand):
    help = "Create the MongoDB indexes of the content store. Safe to run again: existing indexes are kept."

    def handle(self, *args, **options):
        try:
            names = content_repository.ensure_indexes()
        except content_repository.ContentStoreUnavailable as exc:
            raise CommandError(f"MongoDB is unreachable: {exc}") from exc
        for name in names:
            self.stdout.write(f"  {name}")
        self.stdout.write(
            self.style.SUCCESS(f"{len(names)} indexes present on database {content_repository.database_name()!r}.")
        )
