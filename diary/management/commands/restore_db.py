from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from diary import backups


class Command(BaseCommand):
    help = (
        "Restore a backup made by backup_db into the database of DATABASE_URL. Refuses a "
        "database that holds data unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--force", action="store_true", help="replace a database that holds data"
        )

    def handle(self, *args, file, force, **options):
        try:
            backups.restore(file, force=force)
        except backups.BackupError as error:
            raise CommandError(str(error)) from None
        counts = backups.tables_with_rows()
        self.stdout.write(
            f"Restored {file}: {len(counts)} tables, {sum(counts.values())} rows. Run migrate if "
            "the backup is older than the code, and repeat any erasure made since it was taken."
        )
