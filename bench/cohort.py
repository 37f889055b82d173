"""Load a synthetic cohort fast: the demo generator scaled to N children × Y years.

PostgreSQL gets COPY; SQLite falls back to bulk inserts. Used by the benchmarks only.
"""

import json
import time
import uuid
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from diary.models import (
    CareLink,
    Child,
    DiaryEntry,
    DoseAdministration,
    GrowthMeasurement,
    Prescription,
    Site,
    SteroidDose,
    VisitAssessment,
)
from diary.synthetic import cohort_specs, history
from outcomes.models import LabFlag, LabResult

SITE = "bench"
# The columns every Recorded table starts with, then each table's own.
RECORDED = ["id", "child_id", "date", "version", "created", "updated"]
PRESCRIPTION = [
    "child_id",
    "drug",
    "indication",
    "start_date",
    "morning_mg",
    "afternoon_mg",
    "evening_mg",
    "reason",
    "note",
    "override_reason",
    "tertiary_discussed_with",
    "created",
]
# The generated history's fields per table, in COPY order after RECORDED.
GENERATED = {
    DiaryEntry: [
        "instrument_key",
        "instrument_version",
        "scores",
        "score",
        "subscores",
        "answered",
        "no_symptoms",
        "fever",
        "max_temperature",
        "illness",
        "zoster",
        "note",
    ],
    DoseAdministration: ["slot", "drug", "prescribed_mg", "status", "given_mg"],
    SteroidDose: ["drug", "mg"],
    GrowthMeasurement: ["weight_kg", "height_cm"],
}


def _copy(model, columns: list[str], rows) -> int:
    """COPY ROWS into MODEL's table (PostgreSQL), or bulk-insert them."""
    table = model._meta.db_table
    if connection.vendor != "postgresql":
        objects = [model(**dict(zip(columns, row, strict=True))) for row in rows]
        model.objects.bulk_create(objects, batch_size=2000)
        return len(objects)
    count = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(tuple(_cell(value) for value in row))
                count += 1
    return count


def delete_site(site, models) -> None:
    """Delete MODELS' rows of SITE's children, then the children, in SQL: the ORM would
    write a history row per deleted row, for minutes."""
    children = "SELECT id FROM diary_child WHERE site_id = %s"
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            # Table names come from the models; the site id is a bound parameter.
            sql = f"DELETE FROM {table} WHERE child_id IN ({children})"  # noqa: S608  # nosec B608
            cursor.execute(sql, [site.pk])
        cursor.execute("DELETE FROM diary_child WHERE site_id = %s", [site.pk])


def analyze() -> None:
    """Fresh planner statistics after a bulk load (PostgreSQL)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _cell(value):
    """A value as COPY takes it: the JSON fields (scores, subscores) as text. (The ORM path
    takes the dicts themselves: given text, SQLite would store a JSON string.)"""
    return json.dumps(value) if isinstance(value, dict) else value


def load(n_children: int, years: float = 3, seed: int = 11) -> dict:
    """Create site 'bench' with N_CHILDREN children and YEARS of history each (idempotent:
    an existing bench site of that size is kept)."""
    days = int(365 * years)
    site, _ = Site.objects.get_or_create(code=SITE, defaults={"name": "Benchmark", "country": "GB"})
    if Child.objects.filter(site=site).count() == n_children:
        return {"children": n_children, "loaded": False}
    started = time.perf_counter()
    with transaction.atomic():
        # CareLink: the page scenario links its parent to the first bench child; visits: the
        # chart scenario's child has them (bench.chart); flags: the chart scenario's saves of a
        # diary day with a fever raise them (§7.3), before their results go.
        delete_site(site, [*GENERATED, Prescription, LabFlag, LabResult, CareLink, VisitAssessment])
        specs = cohort_specs(n_children, seed=seed, days=days, sites=(SITE,), prefix="B")
        fields = {f.name for f in Child._meta.concrete_fields} - {"site", "reference", "id"}
        children = Child.objects.bulk_create(
            Child(
                site=site,
                reference=s.reference,
                **{k: v for k, v in vars(s).items() if k in fields},
            )
            for s in specs
        )
        now = timezone.now()
        end = timezone.localdate() - timedelta(days=1)
        rx_rows = []
        recorded = {model: [] for model in GENERATED}
        for child, spec in zip(children, specs, strict=True):
            generated = history(spec, end=end, seed=seed, days=days)
            rx_rows.extend(
                (
                    child.pk,
                    row["drug"],
                    "interferonopathy",
                    row["start_date"],
                    row["morning_mg"],
                    row["afternoon_mg"],
                    row["evening_mg"],
                    row["reason"],
                    "",
                    "",
                    "",
                    now,
                )
                for row in generated.prescriptions
            )
            for model, rows in (
                (DiaryEntry, generated.entries),
                (DoseAdministration, generated.doses),
                (SteroidDose, generated.steroids),
                (GrowthMeasurement, generated.growth),
            ):
                recorded[model].extend(
                    (uuid.uuid4(), child.pk, row["date"], 1, now, now)
                    + tuple(row[f] for f in GENERATED[model])
                    for row in rows
                )
        _copy(Prescription, PRESCRIPTION, rx_rows)
        copied = {
            model: _copy(model, RECORDED + fields, recorded[model])
            for model, fields in GENERATED.items()
        }
    analyze()
    counts = {
        "entries": copied[DiaryEntry],
        "doses": copied[DoseAdministration],
        "steroids": copied[SteroidDose],
    }
    return {
        "children": n_children,
        "loaded": True,
        "seconds": time.perf_counter() - started,
        **counts,
    }
