import csv
import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from diary import instruments
from diary.models import Child, Site
from outcomes.summaries import CSV_COLUMNS, as_dict, cohort_summary

COMPARISON_COLUMNS = (
    "mean_difference",
    "t",
    "df",
    "p_t_test",
    "wilcoxon_statistic",
    "wilcoxon_v",
    "p_wilcoxon",
    "note",
)


class Command(BaseCommand):
    help = (
        "Print the NIH-style cohort summary: per phase the median (IQR) of the children's "
        "means, least-squares means with 95% CIs, and paired comparisons, for the daily score "
        "and every other outcome (steroids, CRP, IP-10, interferon score, growth SDS, visit "
        "assessments)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--site", action="append", help="site code (repeatable; default all)")
        parser.add_argument(
            "--cutoff",
            help="data cut-off YYYY-MM-DD (default: each child's final visit, else today)",
        )
        parser.add_argument("--instrument", default="ags", choices=sorted(instruments.CURRENT))
        parser.add_argument("--format", choices=["json", "csv"], default="json")

    def handle(self, *args, site=None, cutoff=None, instrument="ags", format="json", **options):
        children = Child.objects.select_related("site")
        if site:
            unknown = set(site) - set(
                Site.objects.filter(code__in=site).values_list("code", flat=True)
            )
            if unknown:
                raise CommandError(f"unknown site: {', '.join(sorted(unknown))}")
            children = children.filter(site__code__in=site)
        if cutoff:
            try:
                cutoff = date.fromisoformat(cutoff)
            except ValueError:
                raise CommandError(f"--cutoff {cutoff!r}: use YYYY-MM-DD") from None
        summary = as_dict(cohort_summary(children, instrument=instrument, cutoff=cutoff))
        if format == "json":
            self.stdout.write(json.dumps(summary, indent=2, ensure_ascii=False))
            return
        writer = csv.writer(self.stdout)
        writer.writerow(CSV_COLUMNS)
        for row in summary["phases"]:
            writer.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
        writer.writerow([])
        writer.writerow(["comparison", "n", *COMPARISON_COLUMNS])
        for c in summary["comparisons"]:
            writer.writerow(
                [
                    f"{c['phases'][0]} vs {c['phases'][1]}",
                    c["n"],
                    *("" if c[k] is None else c[k] for k in COMPARISON_COLUMNS),
                ]
            )
        # Every outcome by phase, one row per outcome (and interferon assay) and phase.
        writer.writerow([])
        writer.writerow(["outcome", "assay", *CSV_COLUMNS])
        for name, outcome in summary["outcomes"].items():
            groups = outcome.get("by_assay") or [{"assay": "", "phases": outcome["phases"]}]
            for group in groups:
                for row in group["phases"]:
                    cells = ["" if row[c] is None else row[c] for c in CSV_COLUMNS]
                    writer.writerow([name, group["assay"], *cells])
