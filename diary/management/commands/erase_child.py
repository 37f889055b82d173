from django.core.management.base import BaseCommand, CommandError

from diary import erasure
from diary.models import Child


class Command(BaseCommand):
    help = (
        "Erase a child after consent withdrawal and the legal retention (ERASURE_RETENTION_DAYS): "
        "every row about the child is deleted and the change history keeps only the pseudonym."
    )

    def add_arguments(self, parser):
        parser.add_argument("child", type=int, help="the child's id (as in /children/ID/)")
        parser.add_argument(
            "--confirm",
            metavar="REFERENCE",
            help="the child's site reference (or full name when it has none); asked when absent",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="only count what would be erased"
        )

    def handle(self, *args, child, confirm, dry_run, **options):
        found = Child.objects.filter(pk=child).select_related("site").first()
        if found is None:
            raise CommandError(f"There is no child {child}.")
        problem = erasure.problem_for(found)
        if problem:
            raise CommandError(problem)
        owned, _strays = erasure.rows_about(found)
        for model, pks in sorted(owned.items(), key=lambda item: item[0]._meta.label):
            self.stdout.write(f"{model._meta.label}: {len(pks)}")
        if dry_run:
            return
        word = erasure.confirmation_word(found)
        if confirm is None:
            confirm = input(
                f"Type the reference of child {found.pk} at {found.site.code} to erase: "
            )
        if confirm.strip() != word:
            raise CommandError("The confirmation does not match: nothing was erased.")
        try:
            result = erasure.erase(found)
        except erasure.NotErasable as refused:
            raise CommandError(str(refused)) from None
        blanked = sum(result.history_blanked.values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Erased child {child}: {sum(result.deleted.values())} rows deleted, "
                f"{blanked} history rows keep only the pseudonym {result.pseudonym[:12]}…"
            )
        )
