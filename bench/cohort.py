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
    Child,
    DiaryEntry,
    DoseAdministration,
    GrowthMeasurement,
    Prescription,
    Site,
    SteroidDose,
)
from diary.synthetic import cohort_specs, history
from outcomes.models import LabResult

SITE = "bench"


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
                copy.write_row(row)
                count += 1
    return count


def load(n_children: int, years: float = 3, seed: int = 11) -> dict:
    """Create site 'bench' with N_CHILDREN children and YEARS of history each (idempotent:
    an existing bench site of that size is kept)."""
    days = int(365 * years)
    site, _ = Site.objects.get_or_create(code=SITE, defaults={"name": "Benchmark", "country": "GB"})
    if Child.objects.filter(site=site).count() == n_children:
        return {"children": n_children, "loaded": False}
    started = time.perf_counter()
    with transaction.atomic():
        # SQL: the ORM would write a history row per deleted row, for minutes.
        with connection.cursor() as cursor:
            children = "SELECT id FROM diary_child WHERE site_id = %s"
            for model in (
                DiaryEntry,
                DoseAdministration,
                SteroidDose,
                GrowthMeasurement,
                Prescription,
                LabResult,
            ):
                table = model._meta.db_table
                sql = f"DELETE FROM {table} WHERE child_id IN ({children})"  # noqa: S608  # nosec B608
                cursor.execute(sql, [site.pk])
            cursor.execute("DELETE FROM diary_child WHERE site_id = %s", [site.pk])
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
        counts = {"entries": 0, "doses": 0, "steroids": 0}
        entry_rows, dose_rows, steroid_rows, growth_rows, rx_rows = [], [], [], [], []
        for child, spec in zip(children, specs, strict=True):
            generated = history(spec, end=end, seed=seed, days=days)
            for row in generated.prescriptions:
                rx_rows.append(
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
                        now,
                    )
                )
            for row in generated.entries:
                entry_rows.append(
                    (
                        uuid.uuid4(),
                        child.pk,
                        row["date"],
                        1,
                        now,
                        now,
                        row["instrument_key"],
                        row["instrument_version"],
                        json.dumps(row["scores"]),
                        row["score"],
                        json.dumps(row["subscores"]),
                        row["answered"],
                        row["no_symptoms"],
                        row["fever"],
                        row["max_temperature"],
                        row["illness"],
                        "",
                    )
                )
            for row in generated.doses:
                dose_rows.append(
                    (
                        uuid.uuid4(),
                        child.pk,
                        row["date"],
                        1,
                        now,
                        now,
                        row["slot"],
                        row["drug"],
                        row["prescribed_mg"],
                        row["status"],
                        row["given_mg"],
                    )
                )
            for row in generated.steroids:
                steroid_rows.append(
                    (uuid.uuid4(), child.pk, row["date"], 1, now, now, row["drug"], row["mg"])
                )
            for row in generated.growth:
                growth_rows.append(
                    (
                        uuid.uuid4(),
                        child.pk,
                        row["date"],
                        1,
                        now,
                        now,
                        row["weight_kg"],
                        row["height_cm"],
                    )
                )
        common = ["id", "child_id", "date", "version", "created", "updated"]
        _copy(
            Prescription,
            [
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
                "created",
            ],
            rx_rows,
        )
        counts["entries"] = _copy(
            DiaryEntry,
            common
            + [
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
                "note",
            ],
            entry_rows,
        )
        counts["doses"] = _copy(
            DoseAdministration,
            common + ["slot", "drug", "prescribed_mg", "status", "given_mg"],
            dose_rows,
        )
        counts["steroids"] = _copy(SteroidDose, common + ["drug", "mg"], steroid_rows)
        _copy(GrowthMeasurement, common + ["weight_kg", "height_cm"], growth_rows)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")
    return {
        "children": n_children,
        "loaded": True,
        "seconds": time.perf_counter() - started,
        **counts,
    }
