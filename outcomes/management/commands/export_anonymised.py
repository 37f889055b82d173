from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from diary.models import User
from outcomes import export, research
from outcomes.deidentify import DEFAULT_K
from outcomes.models import Study


class Command(BaseCommand):
    help = (
        "Write the anonymised research export (zip of CSVs, data dictionary, manifest) of a "
        "study's consenting children. Logged like an export from the web."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="the zip file to write")
        parser.add_argument("--cutoff", help="YYYY-MM-DD; nothing later is exported (today)")
        parser.add_argument(
            "--shift-dates",
            action="store_true",
            help="dates shifted back 0–364 days per child instead of days from the first dose",
        )
        parser.add_argument("--study", help="study code (needed when there are several)")
        parser.add_argument(
            "--as",
            dest="username",
            help="export as this researcher: every site of the study must have linked them",
        )
        parser.add_argument("--k", type=int, default=DEFAULT_K, help="k-anonymity (default 5)")

    def handle(self, *args, **options):
        cutoff = self._cutoff(options["cutoff"])
        if options["k"] < 2:
            raise CommandError("--k must be at least 2.")
        user = None
        if options["username"]:
            user = User.objects.filter(username=options["username"], is_active=True).first()
            if user is None:
                raise CommandError(f"No active user {options['username']}.")
            # An export covers every site of the study: each must have linked the researcher.
            study = self._study(options["study"], research.studies_of(user))
            study, sites = research.resolve(user, study.code)
        else:
            study = self._study(options["study"], Study.objects.all())
            sites = list(study.sites.order_by("code"))
        if not sites:
            raise CommandError(f"Study {study.code} has no site to export.")
        choice = export.Options(
            study.code,
            tuple(s.code for s in sites),
            cutoff,
            shift_dates=options["shift_dates"],
            k=options["k"],
        )
        out = Path(options["out"])
        log = research.log_command_export(user, study, sites, choice, out)
        counts = log.counts
        self.stdout.write(
            self.style.SUCCESS(
                f"{out}: {counts['exported']} children exported, {counts['exported_whole']} "
                f"whole; generalised {counts['generalised']}; held back {counts['held_back']}; "
                f"{counts['rows']['diary.csv']} diary days. SHA-256 {log.checksum}"
            )
        )

    def _cutoff(self, raw: str | None) -> date:
        if not raw:
            return timezone.localdate()
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise CommandError("--cutoff: use a date as YYYY-MM-DD.") from None

    def _study(self, code: str | None, studies) -> Study:
        if code:
            study = studies.filter(code=code).first()
            if study is None:
                raise CommandError(f"No study {code} (for this user).")
            return study
        found = list(studies[:2])
        if len(found) != 1:
            names = ", ".join(studies.values_list("code", flat=True)) or "none"
            raise CommandError(f"Give --study (studies: {names}).")
        return found[0]
