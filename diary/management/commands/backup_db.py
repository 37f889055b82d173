import hashlib
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from diary import backups


class Command(BaseCommand):
    help = (
        "Back up the database of DATABASE_URL: pg_dump's custom format for PostgreSQL, SQLite's "
        "online backup API for SQLite. Safe while the app runs."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--out",
            type=Path,
            help="a file, or a folder for a file named by the time (default: var/backups/)",
        )

    def handle(self, *args, out, **options):
        path = backups.default_path()
        if out is not None:
            path = out / path.name if out.is_dir() else out
        try:
            backups.backup(path)
        except backups.BackupError as error:
            raise CommandError(str(error)) from None
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        self.stdout.write(f"{path} {path.stat().st_size} bytes sha256 {digest}")
