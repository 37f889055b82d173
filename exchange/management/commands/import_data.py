from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from diary.models import User
from exchange import tables
from exchange.importing import SourceError, import_data, source_from_path


class Command(BaseCommand):
    help = (
        "Import historical data for a site: a folder or zip of the CSV tables of the "
        "identifiable export (or one CSV file). Nothing is stored unless every row is valid."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", metavar="DIR_OR_ZIP")
        parser.add_argument("--site", metavar="CODE", help="the site the children belong to")
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            required=True,
            help="the clinician the imported rows are recorded in the name of",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="validate everything, store nothing"
        )

    def handle(self, *args, path, user, site=None, dry_run=False, **options):
        importer = User.objects.filter(username=user, is_active=True).first()
        if importer is None:
            raise CommandError(f"No active user {user!r}.")
        sites = importer.clinical_sites()
        if site:
            target = sites.filter(code=site).first()
            if target is None:
                raise CommandError(f"{user} is not a clinician of a site {site!r}.")
        elif sites.count() == 1:
            target = sites.get()
        else:
            codes = ", ".join(sites.values_list("code", flat=True)) or "none"
            raise CommandError(f"Give --site CODE (one of: {codes}).")
        try:
            source = source_from_path(Path(path))
        except SourceError as error:
            raise CommandError(str(error)) from None
        report = import_data(source, site=target, user=importer, dry_run=dry_run)
        for problem in report.problems:
            self.stderr.write(str(problem))
        if report.problems:
            raise CommandError(
                f"{len(report.problems)} problem(s) in {report.rows} rows: nothing was imported."
            )
        for table in tables.TABLES:
            if report.created[table.name] or report.unchanged[table.name]:
                self.stdout.write(
                    f"{table.filename:<27} {report.created[table.name]:>7} new"
                    f" {report.unchanged[table.name]:>7} already stored"
                )
        if dry_run:
            self.stdout.write(
                self.style.WARNING("Dry run: every row is valid; nothing was stored.")
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Imported {sum(report.created.values())} new rows into {target.code} "
                    f"(SHA-256 {report.sha256})."
                )
            )
