"""The chart scenario's child: 3 years of diary and doses (bench.cohort) and the blood results
a child followed that long has — the monitoring schedule's bloods (Hb, counts, creatinine and
eGFR, CRP) and an interferon score and IP-10 every 12 weeks — the visit assessments of its
12-weekly visits and the growth SDS of its weights and heights, so that every panel is drawn."""

import random
from datetime import timedelta
from decimal import Decimal

from diary import growth
from diary.models import Child, GrowthMeasurement, Prescription, VisitAssessment
from outcomes import guideline, synthetic_labs, synthetic_visits
from outcomes.models import LabResult

IFN_EVERY_DAYS = 84


def ensure_labs(child: Child) -> int:
    """Give CHILD its made-up results once (bulk: no flags, no emails); the count stored."""
    if LabResult.objects.filter(child=child).exists():
        return 0
    prescriptions = [
        {
            "drug": p.drug,
            "start_date": p.start_date,
            "morning_mg": p.morning_mg,
            "afternoon_mg": p.afternoon_mg,
            "evening_mg": p.evening_mg,
            "reason": p.reason,
        }
        for p in Prescription.objects.filter(child=child).order_by("start_date")
    ]
    growth = list(
        GrowthMeasurement.objects.filter(child=child)
        .order_by("date")
        .values_list("date", "height_cm", "weight_kg")
    )
    heights = [(d, h) for d, h, _w in growth if h is not None]
    weights = [(d, w) for d, _h, w in growth if w is not None]
    today = child.today()
    rows = []
    for s in synthetic_labs.samples(
        prescriptions, heights, today, f"bench-{child.pk}", None, weights
    ):
        row = LabResult(
            child=child,
            sample_date=s.sample_date,
            analyte=s.analyte,
            value=s.value,
            unit=s.unit,
            entered_value=s.value,
            entered_unit=s.unit,
            uln=s.uln,
        )
        if s.analyte == "creatinine":
            height = guideline.weight_on(s.sample_date, heights)
            if height:
                row.egfr = guideline.schwartz_egfr(height, s.value).value
        rows.append(row)
    # Made-up values: a seeded generator keeps the benchmark reproducible.
    rng = random.Random(f"bench-ifn-{child.pk}")  # nosec B311
    first = min((d for d, _h, _w in growth), default=today)
    day = first
    while day < today:
        score = Decimal(str(round(rng.uniform(2, 14) if day == first else rng.uniform(1, 6), 1)))
        ip10 = Decimal(str(round(rng.uniform(150, 900))))
        rows.append(
            LabResult(
                child=child,
                sample_date=day,
                analyte="ifn_score",
                value=score,
                unit="score",
                entered_value=score,
                entered_unit="score",
                assay="6-gene qPCR",
                positivity_threshold=Decimal("2.466"),
            )
        )
        rows.append(
            LabResult(
                child=child,
                sample_date=day,
                analyte="ip10",
                value=ip10,
                unit="pg/mL",
                entered_value=ip10,
                entered_unit="pg/mL",
            )
        )
        day += timedelta(days=IFN_EVERY_DAYS)
    LabResult.objects.bulk_create(rows)
    return len(rows)


def ensure_visits(child: Child) -> int:
    """Give CHILD its visit assessments and the SDS of its weights and heights once (bulk; the
    benchmarks' loader copies weights and heights alone); the rows stored or updated."""
    if VisitAssessment.objects.filter(child=child).exists():
        return 0
    today = child.today()
    rows = list(GrowthMeasurement.objects.filter(child=child).order_by("date"))
    first_dose = (
        Prescription.objects.filter(child=child)
        .order_by("start_date")
        .values_list("start_date", flat=True)
        .first()
    )
    start = rows[0].date if rows else today
    reference = child.site.growth_reference
    fields = set()
    for row in rows:
        found = growth.scores(
            reference, child.sex, child.date_of_birth, row.date, row.weight_kg, row.height_cm
        )
        for name, value in growth.growth_values(reference, found, confirmed=True).items():
            setattr(row, name, value)
            fields.add(name)
    if rows:
        GrowthMeasurement.objects.bulk_update(rows, sorted(fields))
    visits = [
        VisitAssessment(
            child=child,
            date=v.day,
            ags_items=v.ags_items,
            ags_scale=sum(v.ags_items.values()) if v.ags_items else None,
            physician_global=v.physician_global,
            parent_global=v.parent_global,
        )
        for v in synthetic_visits.visits(first_dose, start, today, "AGS", f"bench-{child.pk}")
    ]
    VisitAssessment.objects.bulk_create(visits)
    return len(rows) + len(visits)
