"""`make bench`: each scenario's figure beside a baseline measured in the same run.

Runs on a database of its own beside DATABASE_URL's (bench/database.py; PostgreSQL for real
figures), never the demo's. Prints a table and writes
bench/results/latest.json. Never part of the test suite.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from bench.diary_save import scenario_day_save, scenario_save
from bench.page_weight import scenario_page

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

SCALES = {
    # children for the cohort and chart scenarios, years of history; diary save and day save:
    # concurrent clients, measured and warm-up requests per client
    "smoke": {
        "children": 5,
        "years": 0.25,
        "sweep": 20,
        "save_clients": 2,
        "save_requests": 5,
        "save_warmup": 1,
    },
    "small": {
        "children": 100,
        "years": 3,
        "sweep": 1_000,
        "save_clients": 20,
        "save_requests": 10,
        "save_warmup": 2,
    },
    "full": {
        "children": 1000,
        "years": 3,
        "sweep": 10_000,
        "save_clients": 20,
        "save_requests": 100,
        "save_warmup": 5,
    },
}


def timed(function, repeat: int = 5) -> tuple[float, list[float]]:
    """The median wall time of REPEAT calls (after one warm-up call)."""
    function()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


def scenario_cohort(scale: dict) -> dict:
    """Cohort summary from the database vs statsmodels' MixedLM on in-memory arrays."""
    import pandas as pd
    import statsmodels.formula.api as smf

    from diary.models import Child
    from outcomes.summaries import cohort_summary

    children = list(Child.objects.filter(site__code="bench"))
    figure, _ = timed(lambda: cohort_summary(children), repeat=3)
    ours = cohort_summary(children)
    scores = ours.child_means
    frame = pd.DataFrame(
        [(pk, phase, mean) for pk, means in scores.items() for phase, mean in means.items()],
        columns=["child", "phase", "score"],
    )
    frame["phase"] = frame["phase"].astype("category")

    def fit():
        model = smf.mixedlm("score ~ C(phase) - 1", frame, groups=frame["child"])
        return model.fit(reml=True, method=["lbfgs"])

    baseline, _ = timed(fit, repeat=3)
    theirs = fit()
    # By name: statsmodels leaves out a phase without data, so positions would shift.
    agree = max(
        abs(r.ls_mean - theirs.fe_params[f"C(phase)[{r.phase}]"])
        for r in ours.phases
        if r.ls_mean is not None
    )
    return {
        "scenario": "cohort summary",
        "size": f"{len(children)} children × {scale['years']} years",
        "figure_s": round(figure, 3),
        "baseline": "statsmodels MixedLM fit on in-memory arrays",
        "baseline_s": round(baseline, 3),
        "ratio": round(figure / baseline, 2),
        "target": "≤ 2× baseline and ≤ 10 s",
        "met": figure <= 2 * baseline and figure <= 10,
        "notes": f"LS means agree with statsmodels within {agree:.1e}; rows {len(frame)}",
    }


def scenario_chart(scale: dict) -> dict:
    """A child's timeline chart with 3 years of data and every result panel: uncached, then
    cached; then a view just after a change of the data (the last drawing, while a worker
    draws the new one) and that worker's drawing."""
    import statistics
    import time

    from django.core.cache import cache

    from bench.chart import ensure_labs, ensure_visits
    from diary.models import Child, DiaryEntry
    from outcomes import pages

    child = Child.objects.filter(site__code="bench").select_related("site").order_by("pk").first()
    labs = ensure_labs(child)
    visits = ensure_visits(child)

    def uncached():
        cache.clear()
        pages.timeline_chart(child, "svg")

    cold, colds = timed(uncached, repeat=5)
    warm, warms = timed(lambda: pages.timeline_chart(child, "svg"), repeat=20)

    # No worker runs here: the drawing it would make is timed on its own.
    pages.enqueue_drawing = lambda *args, **kwargs: None
    entry = DiaryEntry.objects.filter(child=child).order_by("-date").first()
    after_change = []
    for _ in range(10):
        entry.save(update_fields=["updated"])  # a new data version
        started = time.perf_counter()
        drawing = pages.timeline_chart(child, "svg")
        after_change.append(time.perf_counter() - started)
        assert not drawing.fresh
    worker, _ = timed(lambda: (entry.save(update_fields=["updated"]), pages.draw_ahead(child.pk)))
    return {
        "scenario": "child timeline chart",
        "size": f"{scale['years']} years of daily data",
        "figure_s": round(cold, 3),
        "baseline": "the same chart from the cache",
        "baseline_s": round(warm, 4),
        "ratio": round(cold / warm, 1),
        "target": "uncached ≤ 0.5 s, cached ≤ 20 ms",
        "met": cold <= 0.5 and warm <= 0.02,
        "notes": f"uncached min {min(colds):.3f} s, cached min {min(warms) * 1000:.1f} ms; "
        f"a view after a change {statistics.median(after_change) * 1000:.1f} ms (the last "
        f"drawing), the worker's redraw {worker:.2f} s"
        + (f"; {labs} results added" if labs else "")
        + (f"; {visits} visits and growth SDS added" if visits else "")
        + f"; {len(pages.child_outcome(child).labs)} result panels",
    }


def scenario_report(scale: dict) -> dict:
    """A child's visit report over its whole record (3 years at the small and full scales):
    cold (nothing cached: the chart is drawn), then with its chart cached; the family summary."""
    from django.core.cache import cache

    from diary.models import Child, DiaryEntry
    from outcomes.family_summary import family_summary
    from outcomes.report import visit_report

    child = Child.objects.filter(site__code="bench").order_by("pk").first()
    first = DiaryEntry.objects.filter(child=child).order_by("date").first().date
    last = child.today()

    def report():
        return visit_report(child, first, last, "a4", clinician_copy=True)

    def cold():
        cache.clear()
        report()

    cold_s, _ = timed(cold, repeat=5)
    warm_s, _ = timed(report, repeat=5)
    summary_s, _ = timed(lambda: family_summary(child), repeat=5)
    size = len(report())
    return {
        "scenario": "visit report",
        "size": f"{(last - first).days + 1} days of daily data",
        "figure_s": round(cold_s, 3),
        "baseline": "the same report, its chart cached",
        "baseline_s": round(warm_s, 3),
        "ratio": round(cold_s / warm_s, 1),
        "target": "uncached ≤ 2 s",
        "met": cold_s <= 2,
        "notes": f"family summary {summary_s:.3f} s; report {size // 1024} KB",
    }


def scenario_sweep(scale: dict) -> dict:
    """The reminder sweep over N and 10·N children: time and query count at both sizes."""
    from bench import sweep
    from diary.models import Child

    small = scale.get("sweep", 100)
    if Child.objects.filter(site__code=sweep.SITE).count() != small:
        sweep.reset()
    sweep.load(small)
    sweep.measure()  # warm-up
    few = sweep.measure()
    grown = sweep.load(10 * small)
    many = sweep.measure()
    late = sweep.measure(missed_day=True)
    return {
        "scenario": "reminder sweep",
        "size": f"{10 * small:,} children",
        "figure_s": round(many["seconds"], 3),
        "baseline": f"the same sweep at {small:,} children",
        "baseline_s": round(few["seconds"], 3),
        "ratio": round(many["seconds"] / few["seconds"], 2),
        "target": "≤ 10 s; queries equal at both sizes",
        "met": many["seconds"] <= 10 and many["queries"] == few["queries"],
        "notes": f"queries {few['queries']} vs {many['queries']}; rows made {few['rows']} vs "
        f"{many['rows']}, queued {few['queued']} vs {many['queued']}; after a day without "
        f"sweeps {late['seconds']:.2f} s, {late['queries']} queries, {late['rows']} rows, "
        f"{late['queued']} queued; labs loaded {grown.get('labs', 0)}",
    }


def scenario_export(scale: dict) -> dict:
    from bench.export import scenario_export as run

    return run(scale)


SCENARIOS = {
    "cohort": scenario_cohort,
    "chart": scenario_chart,
    "report": scenario_report,
    "sweep": scenario_sweep,
    "export": scenario_export,
    "save": scenario_save,
    "day": scenario_day_save,
    "page": scenario_page,
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--only", choices=sorted(SCENARIOS), action="append")
    args = parser.parse_args(argv)
    import django

    from bench.database import use_bench_database

    use_bench_database()
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    print(f"bench database: {connection.settings_dict['NAME']} (never the demo's)", flush=True)
    call_command("migrate", verbosity=0, interactive=False)

    from bench.cohort import load

    scale = SCALES[args.scale]
    print(f"database: {connection.vendor}; scale: {args.scale} {scale}", flush=True)
    if set(args.only or SCENARIOS) - {"sweep"}:  # the sweep has a site of its own
        loaded = load(scale["children"], scale["years"])
        print(f"cohort: {loaded}", flush=True)
    rows = []
    for name in args.only or SCENARIOS:
        row = SCENARIOS[name](scale)
        rows.append(row)
        figure = row.get("figure_text") or f"{row['figure_s']} s"
        baseline = row.get("baseline_text") or f"{row['baseline_s']} s"
        print(
            f"{row['scenario']:<22} {figure:>11}  baseline {baseline:>11}"
            f"  ratio {row['ratio']!s:>6}  target {row['target']}  "
            f"{'met' if row['met'] else 'MISSED'}  {row['notes']}",
            flush=True,
        )
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / "latest.json").write_text(
        json.dumps(
            {
                "machine": platform.platform(),
                "python": sys.version.split()[0],
                "database": connection.vendor,
                "scale": args.scale,
                "rows": rows,
            },
            indent=2,
            default=str,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
