from datetime import time, timedelta
from decimal import Decimal
from time import monotonic

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from diary import growth
from diary.models import (
    CareLink,
    Child,
    ConsentVersion,
    DiaryEntry,
    DoseAdministration,
    GrowthMeasurement,
    Prescription,
    Site,
    SiteMembership,
    SteroidDose,
    User,
    VisitAssessment,
)
from diary.synthetic import DEMO_CHILDREN, DEMO_PEOPLE, DEMO_SITES, cohort_specs, history
from diary.twofactor import is_staff_role, secret_text
from outcomes import synthetic_labs, synthetic_visits
from outcomes.labs import record_lab
from outcomes.models import Study, StudyLink

DEMO_STUDY = ("demo-study", "Demo study: JAK inhibitors in interferonopathies")

CHILD_FIELDS = {f.name for f in Child._meta.concrete_fields} - {"site", "reference"}


def load_history(child, generated, reported_by, prescribed_by) -> None:
    """Bulk-load a generated history (demo and benchmark data: no per-row audit trail)."""
    prescriptions = Prescription.objects.bulk_create(
        Prescription(child=child, created_by=prescribed_by, **row)
        for row in generated.prescriptions
    )
    by_start = sorted(prescriptions, key=lambda p: p.start_date)

    def in_force(day):
        return next((p for p in reversed(by_start) if p.start_date <= day), None)

    common = {"child": child, "reported_by": reported_by}
    DiaryEntry.objects.bulk_create(DiaryEntry(**common, **row) for row in generated.entries)
    DoseAdministration.objects.bulk_create(
        DoseAdministration(**common, prescription=in_force(row["date"]), **row)
        for row in generated.doses
    )
    SteroidDose.objects.bulk_create(SteroidDose(**common, **row) for row in generated.steroids)
    reference = child.site.growth_reference
    GrowthMeasurement.objects.bulk_create(
        GrowthMeasurement(**common, **row, **_growth_scores(child, reference, row))
        for row in generated.growth
    )


def _growth_scores(child, reference: str, row: dict) -> dict:
    """SDS and centiles as the diary's save path stores them (diary.growth)."""
    found = growth.scores(
        reference,
        child.sex,
        child.date_of_birth,
        row["date"],
        row.get("weight_kg"),
        row.get("height_cm"),
    )
    return growth.growth_values(reference, found, confirmed=True)


def load_visits(child, first_dose, start, today, clinician) -> None:
    """Demo visits: IP-10 and interferon score results, and the visit assessments."""
    for visit in synthetic_visits.visits(
        first_dose, start, today, child.diagnosis, child.reference
    ):
        record_lab(child, clinician, "ip10", visit.day, visit.ip10, "pg/mL", alert=False)
        record_lab(
            child,
            clinician,
            "ifn_score",
            visit.day,
            visit.ifn_score,
            "score",
            assay=visit.assay,
            positivity_threshold=visit.threshold,
            alert=False,
        )
        VisitAssessment.objects.create(
            child=child,
            date=visit.day,
            ags_items=visit.ags_items,
            ags_scale=sum(visit.ags_items.values()) if visit.ags_items else None,
            physician_global=visit.physician_global,
            parent_global=visit.parent_global,
            recorded_by=clinician,
        )


DEFAULT_PASSWORD = "demo-pass-2026"  # noqa: S105 - demo data only, printed at seeding  # nosec B105
DEMO_DEVICE = "demo"  # the authenticator app of demo staff; `totp_code` prints its codes


class Command(BaseCommand):
    help = "Create (or bring up to date) the demo sites, people and children. Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument(
            "--cohort",
            type=int,
            default=16,
            help="made-up children without caregivers, for the cohort pages",
        )

    def handle(self, *args, cohort=16, **options):
        password = settings.DEMO_PASSWORD or DEFAULT_PASSWORD
        with transaction.atomic():
            sites = {
                spec.code: Site.objects.update_or_create(
                    code=spec.code,
                    defaults={
                        "name": spec.name,
                        "country": spec.country,
                        "timezone": spec.timezone,
                    },
                )[0]
                for spec in DEMO_SITES
            }
            for site in sites.values():  # the demo children's consent form
                ConsentVersion.objects.get_or_create(site=site, label="2.1")
            children = {}
            for spec in DEMO_CHILDREN:
                fields = {k: v for k, v in vars(spec).items() if k in CHILD_FIELDS}
                children[spec.reference], _ = Child.objects.get_or_create(
                    site=sites[spec.site], reference=spec.reference, defaults=fields
                )
            for username, first, last, language, links in DEMO_PEOPLE:
                user = self._user(username, first, last, language, password)
                for kind, key, role in links:
                    if kind == "site":
                        SiteMembership.objects.update_or_create(
                            user=user, site=sites[key], defaults={"role": role}
                        )
                    else:
                        CareLink.objects.get_or_create(
                            caregiver=user, child=children[key], defaults={"relationship": role}
                        )
            clinicians = {
                m.site_id: m.user for m in SiteMembership.objects.filter(role="site_admin")
            }
            # The demo researcher is linked to one study at both sites by their administrators.
            study, _ = Study.objects.get_or_create(
                code=DEMO_STUDY[0],
                defaults={"title": DEMO_STUDY[1], "owner_site": sites[min(sites)]},
            )
            study.sites.add(*sites.values())
            researcher = User.objects.get(username="demo-researcher")
            for site in sites.values():
                StudyLink.objects.get_or_create(
                    study=study,
                    site=site,
                    researcher=researcher,
                    defaults={"linked_by": clinicians.get(site.pk)},
                )
            today = timezone.localdate()
            for spec in cohort_specs(cohort):
                fields = {k: v for k, v in vars(spec).items() if k in CHILD_FIELDS}
                children[spec.reference], _ = Child.objects.get_or_create(
                    site=sites[spec.site], reference=spec.reference, defaults=fields
                )
            specs = [*DEMO_CHILDREN, *cohort_specs(cohort)]
            new = [
                s
                for s in specs
                if not DiaryEntry.objects.filter(child=children[s.reference]).exists()
            ]
            if new:
                # A first run takes a minute or more: say what is happening, child by child.
                self._say(
                    f"Making {len(new)} children's histories (diary days, doses, steroids, "
                    "growth, blood tests, visits); a minute or two on a first run:"
                )
            for number, spec in enumerate(new, start=1):
                started = monotonic()
                child = children[spec.reference]
                reporter = child.care_links.first()
                generated = history(spec, end=today - timedelta(days=1))
                load_history(
                    child,
                    generated,
                    reported_by=reporter.caregiver if reporter else None,
                    prescribed_by=clinicians.get(child.site_id),
                )
                labs = self._labs(spec, child, generated, today, clinicians.get(child.site_id))
                starts = [p["start_date"] for p in generated.prescriptions]
                load_visits(
                    child,
                    min(starts, default=None),
                    generated.entries[0]["date"] if generated.entries else today,
                    today,
                    clinicians.get(child.site_id),
                )
                self._say(
                    f"  [{number}/{len(new)}] {spec.reference} {spec.first_name}: "
                    f"{len(generated.entries)} diary days, {labs} blood results "
                    f"({monotonic() - started:.1f} s)"
                )
            # The demo parent asked for blood-test reminders and a diary reminder from midnight,
            # so the first sweep of `make run` emails one (today's entry is never there yet).
            parent = User.objects.get(username="demo-parent")
            if not parent.test_reminders:
                parent.test_reminders = True
                parent.diary_reminder_time = time(0, 0)
                parent.save(update_fields=["test_reminders", "diary_reminder_time"])
            admin = self._user("admin", "Site", "Admin", "en", password)
            if not admin.is_superuser:
                admin.is_superuser = admin.is_staff = True
                admin.save(update_fields=["is_superuser", "is_staff"])

        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {len(DEMO_CHILDREN)} demo families' children and {cohort} more "
                "in the cohort."
            )
        )
        self.stdout.write(
            f"Demo study {DEMO_STUDY[0]}: demo-researcher may export both sites' consenting "
            "children (/exports/, or: python manage.py export_anonymised --as demo-researcher "
            "--out demo.zip)."
        )
        usernames = [p[0] for p in DEMO_PEOPLE] + ["admin"]
        devices = {
            d.user.username: d
            for d in self._demo_devices(User.objects.filter(username__in=usernames))
        }
        if settings.DEMO_PASSWORD:
            self.stdout.write(
                "Demo logins: " + ", ".join(usernames) + " (password from DEMO_PASSWORD)"
            )
        else:
            self.stdout.write(f"Demo logins (password: {password}):")
            for username in usernames:
                self.stdout.write(f"  {username}")
        # Demo only: staff sign in with a second factor, so their secrets are printed here.
        self.stdout.write(
            "Staff also enter a code: add the key (or the otpauth URI) to an authenticator app, "
            "or run `python manage.py totp_code USERNAME`."
        )
        for username, device in devices.items():
            self.stdout.write(f"  {username}: key {secret_text(device)}  {device.config_url}")

    def _demo_devices(self, users):
        for user in users.order_by("username"):
            if is_staff_role(user):
                device, _ = TOTPDevice.objects.get_or_create(
                    user=user, name=DEMO_DEVICE, defaults={"confirmed": True}
                )
                yield device

    def _labs(self, spec, child, generated, today, clinician) -> int:
        """Results as the monitoring schedule asks. Noah's last two months of tests are left
        undone (overdue on the dashboard); Chloe's latest neutrophils are low (an open flag)."""
        skip = (today - timedelta(days=60), today - timedelta(days=8))
        results = synthetic_labs.samples(
            generated.prescriptions,
            [(g["date"], g["height_cm"]) for g in generated.growth],
            today,
            seed=spec.reference,
            skip=skip if spec.reference == "N-002" else None,
            weights=[(g["date"], g["weight_kg"]) for g in generated.growth if g.get("weight_kg")],
        )
        latest = max((r.sample_date for r in results), default=None)
        for r in results:
            value = r.value
            if spec.reference == "N-003" and r.analyte == "neutrophils" and r.sample_date == latest:
                value = Decimal("0.8")
            record_lab(child, clinician, r.analyte, r.sample_date, value, r.unit, uln=r.uln)
        return len(results)

    def _say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()  # through make and honcho's pipes, as it happens

    def _user(self, username, first, last, language, password) -> User:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@example.org",
                "language": language,
            },
        )
        if created or not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        return user
