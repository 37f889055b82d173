from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from diary.models import CareLink, Child, Site, SiteMembership, User
from diary.synthetic import DEMO_CHILDREN, DEMO_PEOPLE, DEMO_SITES

DEFAULT_PASSWORD = "demo-pass-2026"  # noqa: S105 - demo data only, printed at seeding


class Command(BaseCommand):
    help = "Create (or bring up to date) the demo sites, people and children. Safe to run again."

    def handle(self, *args, **options):
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
            children = {}
            for spec in DEMO_CHILDREN:
                fields = {k: v for k, v in vars(spec).items() if k not in ("site", "reference")}
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
            admin = self._user("admin", "Site", "Admin", "en", password)
            if not admin.is_superuser:
                admin.is_superuser = admin.is_staff = True
                admin.save(update_fields=["is_superuser", "is_staff"])

        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {len(children)} children."))
        usernames = [p[0] for p in DEMO_PEOPLE] + ["admin"]
        if settings.DEMO_PASSWORD:
            self.stdout.write(
                "Demo logins: " + ", ".join(usernames) + " (password from DEMO_PASSWORD)"
            )
        else:
            self.stdout.write(f"Demo logins (password: {password}):")
            for username in usernames:
                self.stdout.write(f"  {username}")

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
