from django.core.management.base import BaseCommand, CommandError

from chats import content_repository


class Command(BaseCommand):
    help = "Create the MongoDB indexes of the content store. Safe to run again: existing indexes are kept."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List the indexes that exist, create none.")

    def handle(self, *args, dry_run, **options):
        try:
            names = content_repository.existing_indexes() if dry_run else content_repository.ensure_indexes()
        except content_repository.ContentStoreUnavailable as exc:
            raise CommandError(f"MongoDB is unreachable: {exc}") from exc
        for name in names:
            self.stdout.write(f"  {name}")
        database = content_repository.database_name()
        if dry_run:
            self.stdout.write(self.style.WARNING(f"dry run: {len(names)} indexes exist on {database!r}, none created"))
        else:
            self.stdout.write(self.style.SUCCESS(f"{len(names)} indexes present on database {database!r}."))
